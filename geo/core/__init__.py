"""Pure value types and formats: coordinate systems, opening hours, navigation links, table files,
bounding boxes from query text.

Imports only the standard library, numpy, pandas, shapely, pyproj, pydantic, openpyxl,
``geo.errors`` and ``geo.notices``: no database, no region files.
"""
