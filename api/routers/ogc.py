"""OGC API - Features at /ogc (being written)."""

from fastapi import APIRouter

router = APIRouter(prefix="/ogc", tags=["ogc OGC API - Features"])
