"""OGC API - Features at ``/ogc``, the whole protocol in one place (Part 1 Core, Part 2 CRS).

- ``params``: the items request: CRS URIs and their axis order, the limit rule, ``bbox``
  (on the shared parser of ``geo.core.bbox``), paging, property filters.
- ``collections``: the collections, their titles, descriptions, notices and filters.
- ``features``: pages of features and single features as GeoJSON text, framed without parsing.
- ``documents``: content negotiation, links, a collection's metadata, media types, conformance.
- ``exceptions``: the standard's error document, also used by the app-wide guards under /ogc.
- ``html`` and ``openapi``: the ``f=html`` pages and the OpenAPI 3.0 document.
- ``router``: the routes, each a few lines over the modules above.

May import ``api`` helpers (hosts, deps, responses, allow) and ``geo`` (the store's feature
pages, ``geo.services.coverage_features``, core, errors, notices). Nothing in ``geo`` or
``maps`` imports it; the SQL stays in ``geo.store.features``.
"""
