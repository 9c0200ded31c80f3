"""The database: engine and sessions, the private PostGIS cluster, models and migrations, and
the SQL that reads and writes stations, the nearest search, the demand grid, API keys and the
OGC feature pages.

May import ``geo.core``, ``geo.reference`` and ``geo.analysis`` (for the types it stores).
Functions take a ``Session`` first and never commit; the outermost caller does.
"""
