"""The web service: the FastAPI app factory (``app.create_app``), its middlewares (admission
lanes, body limits, trusted hosts, security headers, database outages as 503), dependencies,
response schemas, the REST routers (``routers``), the OGC API (``ogc``), the server (``serve``)
and the ``unionmap`` console entry point (``cli``: the core's commands plus serve and map render).

The outermost layer: may import ``maps`` and every room of ``geo``; nothing imports it. Routers
take parameters, call one service or store function and shape the answer: no SQL, no commit
(writes go through ``geo.services.transaction.unit_of_work``).
"""
