"""The region folder and the reference geography built from it (counties, derived townships,
modelled population, the H3 demand grid, population rasters, the demo registry, service types
and targets as read from their files).

Pure: files in, frames and checked models out; data files are parsed once per version of the
file (``region.cached_by_version``). May import ``geo.core``. Writing these layers to the
database is the store's job (``geo.store``), and ``geo.services.loading`` says in which order.
"""
