"""Use cases that join store, analysis and reference: coverage on the stored registry, the data
each map shows, registry validation, bulk import and export.

May import every room of ``geo`` below ``cli``; called by ``geo.cli`` and by the API's routers.
"""
