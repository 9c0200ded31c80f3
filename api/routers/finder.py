"""The phone finder page (being written)."""

from fastapi import APIRouter

router = APIRouter(tags=["finder 查找"])
