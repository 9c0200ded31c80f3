"""The standard's exception document, ``{"code", "description"}`` (and the bad ``parameter``).

Also what the app-wide guards (admission control, the database-unavailable handler, the NUL
guard) answer under ``/ogc``, so that every error an OGC client meets has the shape it expects.
Light on purpose (no database, no documents): middleware imports it.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

PREFIX = "/ogc"


def is_ogc(path: str) -> bool:
    """Whether a request path belongs to the OGC API (its errors take the standard's shape)."""
    return path.startswith(PREFIX)


def exception_body(code: str, description: str, parameter: str | None = None) -> dict[str, object]:
    """The OGC API exception document (RFC 7807-like ``code`` and ``description``)."""
    body: dict[str, object] = {"code": code, "description": description}
    if parameter:
        body["parameter"] = parameter
    return body


def exception_response(status: int, code: str, description: str, parameter: str | None = None,
                       headers: dict[str, str] | None = None) -> JSONResponse:
    """:func:`exception_body` as a JSON response with ``status`` (and ``headers``, e.g. a 405's Allow)."""
    return JSONResponse(status_code=status, content=exception_body(code, description, parameter), headers=headers)
