"""OGC API - Features at ``/ogc``, the whole protocol in one place (Part 1 Core, Part 2 CRS).

- ``params``: the items request (CRS URIs, the limit rule, ``bbox`` axis order, property filters).
- ``router``: the routes, content negotiation, links and the standard's exception documents.
- ``html`` and ``openapi``: the ``f=html`` pages and the OpenAPI 3.0 document.

May import ``api`` helpers (hosts, deps, responses, allow) and ``geo`` (the store's feature
pages, services, core, errors, notices); nothing in ``geo`` or ``maps`` imports it.
"""
