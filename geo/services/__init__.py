"""Use cases that join store, analysis and reference: loading the reference data, coverage and
the gaps on the stored registry, the data each map shows, registry validation, bulk import and
export, and the one transaction helper (``transaction``) that the API and the CLI commit with.

May import every room of ``geo`` below ``cli``; called by ``geo.cli`` and by the API's routers.
No SQL here: every statement is in ``geo.store``.
"""
