"""The region folder and the reference geography built from it (counties, derived townships,
modelled population, the H3 demand grid, population rasters, the demo registry, service types
and targets as read from their files).

May import ``geo.core``. Reading and building only; writing these layers to the database is the
store's job (issue 11 moves the few writers still here into ``geo.store``).
"""
