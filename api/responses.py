"""OpenAPI descriptions of the answers routers share: error bodies and the headers that come with them.

Written once so that every route documents the same shapes the app really sends: ``{"detail":
"…"}`` for errors raised as ``HTTPException`` or mapped from ``geo.errors`` (401, 403, 404, 409,
412, 428) and for the middlewares' 413 and 503, and the 422 body of ``api.app.validation_body``
(FastAPI's ``detail`` list, plus ``message`` and ``field``). tests/api/test_schemathesis.py holds
the server to them.
"""

from __future__ import annotations

from typing import Any

DETAIL: dict[str, Any] = {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}}
VALIDATION: dict[str, Any] = {"type": "object", "required": ["detail"], "properties": {
    "detail": {"type": "array", "items": {"type": "object", "required": ["loc", "msg", "type"], "properties": {
        "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        "msg": {"type": "string"}, "type": {"type": "string"}}}},
    "message": {"type": "string"}, "field": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    "errors": {"type": "array", "items": {"type": "object"}}}}
ETAG: dict[str, Any] = {"ETag": {"description": '站点版本 / the station\'s version, e.g. "3"', "required": True,
                                 "schema": {"type": "string", "pattern": '^"[0-9]+"$'}}}


def error(description: str, *, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """An error answer whose body is ``{"detail": "…"}``."""
    response: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": DETAIL}}}
    if headers:
        response["headers"] = headers
    return response


def invalid(description: str = "输入有误（指明字段）/ bad input, the field named") -> dict[str, Any]:
    """A 422 answer in the shape of ``api.app.validation_body``."""
    return {"description": description, "content": {"application/json": {"schema": VALIDATION}}}


RETRY_AFTER: dict[str, Any] = {"Retry-After": {"description": "几秒后重试 / seconds to wait before trying again",
                                               "required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
# api.admission (every slot of the lane taken) and api.unavailable (the database cannot answer now).
UNAVAILABLE = error("服务繁忙或数据库暂时不可用，稍后重试 / server busy or the database unavailable: retry later",
                    headers=RETRY_AFTER)
# api.body_limit, for any request with a body.
TOO_LARGE: dict[str, Any] = {"description": "请求体超过上限 / request body larger than the limit", "content": {
    "application/json": {"schema": {"type": "object", "required": ["detail", "limit_bytes"], "properties": {
        "detail": {"type": "string"}, "limit_bytes": {"type": "integer"}}}}}}
# FastAPI answers 400 itself when a JSON body cannot be decoded at all (not UTF-8, say).
UNREADABLE = error("请求体无法解析 / the body cannot be parsed")
NEEDS_KEY = error("没有或无效的密钥 / no or bad API key", headers={"WWW-Authenticate": {
    "description": "Bearer", "required": True, "schema": {"type": "string"}}})
READ_ONLY_KEY = error("只读密钥 / the key may not write")
# api.quota: a client that sent too many wrong keys is refused for the rest of the window.
TOO_MANY_WRONG_KEYS = error("错误密钥过多，稍后重试 / too many wrong API keys from this client: retry later",
                            headers=RETRY_AFTER)
