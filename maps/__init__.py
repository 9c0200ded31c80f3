"""Folium map builders: typed map data in (``geo.services.map_data.MapData``), one HTML page out;
the notices, legends and escaping every map shares; the Leaflet assets served locally; the finder.

May import ``geo`` (its services' data types, core, notices) but never ``geo.store`` (maps do
not query) and never ``api``.
"""
