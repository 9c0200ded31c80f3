"""The API's documentation page: Swagger UI from this app's own files, readable by everyone.

FastAPI's ``/docs`` loads Swagger UI from a CDN, which an intranet (and often China) cannot
reach; here it comes from ``/static/vendor``. Swagger UI's own page also fails accessibility
checks that a government service should pass (axe-core: no ``lang``, method badges and version
stamps below WCAG AA contrast, links nested in the operation buttons): the page says its
language, ``maps/static/docs.css`` darkens those colours, and deep links (the anchors inside each
operation's button) are off.
"""

from __future__ import annotations

from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from maps import assets

SWAGGER = f"{assets.URL_PREFIX}/swagger-ui-dist"


def swagger_ui(*, openapi_url: str, title: str) -> HTMLResponse:
    """Swagger UI for ``openapi_url``, in Chinese-first page language, with readable colours."""
    page = get_swagger_ui_html(openapi_url=openapi_url, title=title, swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
                               swagger_css_url=f"{SWAGGER}/swagger-ui.css",
                               swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
                               swagger_ui_parameters={"deepLinking": False})
    html = bytes(page.body).decode("utf-8")
    html = html.replace("<html>", '<html lang="zh-CN">', 1)
    html = html.replace("</head>", f'<link rel="stylesheet" href="{assets.own_url("docs.css")}">\n</head>', 1)
    # a document with ``servers`` (/ogc/api) gets a chooser that Swagger UI leaves unnamed
    html = html.replace("</body>", f'<script src="{assets.own_url("swagger-servers-label.js")}"></script>\n</body>', 1)
    return HTMLResponse(html)
