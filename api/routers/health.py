"""Health check: is the database reachable, which PostGIS, how many rows."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from api import responses
from api.deps import ReadSessionDep
from api.schemas import Health
from geo.store import catalogue

router = APIRouter(tags=["health"])


@router.get("/health", summary="健康检查 / health check", response_model=Health,
            responses={503: {"description": "数据库不可达或服务繁忙 / database unreachable, or server busy",
                             "content": {"application/json": {"schema": {"anyOf": [
                                 {"type": "object", "required": ["status", "database"], "properties": {
                                     "status": {"type": "string", "enum": ["error"]},
                                     "database": {"type": "string"}, "detail": {"type": "string"}}},
                                 responses.DETAIL]}}}}})  # the second from api.admission
def health(session: ReadSessionDep) -> Health | JSONResponse:
    """数据库可达、PostGIS 版本、各表行数 / database reachable, PostGIS version, rows per table."""
    try:
        return Health(status="ok", database="reachable",
                      postgis_version=catalogue.postgis_version(session),
                      counts=catalogue.table_counts(session))
    except OperationalError as error:
        return JSONResponse(status_code=503, content={"status": "error", "database": "unreachable",
                                                      "detail": str(error.orig)})
