"""The database, and every SQL statement of the project: engine and sessions, the private
PostGIS cluster, models and migrations, and the reads and writes of stations (``stations``,
``catalogue``, ``nearest``), regions, service types, targets, the demand grid, plans, API keys
and the OGC feature pages.

One idiom per purpose:

- **SQLAlchemy Core** on the models' tables for writes and ordinary reads (``stations``,
  ``regions``, ``service_types``, ``targets``, ``plans``, ``keys``); frames are read with
  ``pd.read_sql`` / ``gpd.read_postgis`` of a Core statement.
- **SQL text with bound parameters** where PostGIS does the work in one statement that Core
  would only obscure: the filtered station list (``catalogue``), point-in-polygon re-placing
  (``regions``), the OGC pages that PostGIS serialises to GeoJSON (``features``).
- **raw psycopg** only where measured to matter: the nearest search on its hot path
  (``nearest``: SQLAlchemy's statement machinery cost more than the query) and COPY of the
  demand grid (``grid_db``: twice as fast as row fetching).
- **Which stations count** is said once, in ``counting``; every reader uses it. Nothing but the
  constants of ``sql.ALLOWED`` (through ``sql.fragment``) or module constants is ever put into
  SQL by string formatting; values always travel as bound parameters.

May import ``geo.core``, ``geo.reference`` and ``geo.analysis`` (for the types it stores).
Functions take a ``Session`` first and never commit: the outermost caller does, through
``geo.services.transaction``.
"""
