"""gzip for every answer a browser or client can shrink: HTML, JSON, GeoJSON, scripts, styles, CSV.

Why: the coverage map was 1.1 MB of HTML and Leaflet 148 KB of script on a phone's connection;
gzip at level 6 sends 204 KB and 42 KB instead (docs/benchmarks.md, "Page weights"). Starlette's
own middleware, configured:

- **Not** what is compressed already: XLSX (a zip), images, zip archives, fonts, PMTiles (their
  tiles are compressed inside); Starlette's defaults cover the rest (``text/event-stream`` too,
  so a stream is never held back), and a partial answer (206, a ``Range`` of a static file) and
  an answer with its own ``Content-Encoding`` pass as they are. A ``HEAD`` has no body to compress.
- Only when the client sends ``Accept-Encoding: gzip``; ``Vary: Accept-Encoding`` on every
  answer that could be compressed, so a cache never hands gzip to a client that cannot read it.
- Level 6, not Starlette's 9: measured on the demo, 0.5–4 % larger than level 9 for a quarter to
  a half of its CPU time (the coverage map: 35 ms instead of 158 ms). Bodies over 128 KB are
  compressed in a worker thread (Starlette), not on the event loop.
- Bodies under 1 KB are sent as they are: the header costs more than gzip saves.

Where it sits (``api/app.py``): outside ``SecurityHeaders``, which rewrites an HTML page's
``<script>`` tags and cannot read a compressed body; inside admission control and the body
limit, whose short refusals need no compression. A station's ``ETag`` stays strong, as
``If-Match`` compares it: gzip is a content coding of the same version.

Needs Starlette >= 1.5 (``exclude_content_types``, the 206 rule, a flush per streamed chunk).
"""

from __future__ import annotations

from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.types import ASGIApp

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ALREADY_COMPRESSED: tuple[str, ...] = (*DEFAULT_EXCLUDED_CONTENT_TYPES, XLSX, "application/vnd.pmtiles",
                                       "application/x-7z-compressed", "application/x-xz", "application/zstd")
COMPRESS_LEVEL = 6
MINIMUM_BYTES = 1024


class Compression(GZipMiddleware):
    """Starlette's ``GZipMiddleware`` with this project's choices (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app, minimum_size=MINIMUM_BYTES, compresslevel=COMPRESS_LEVEL,
                         exclude_content_types=ALREADY_COMPRESSED)
