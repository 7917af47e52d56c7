from fastapi import APIRouter

router = APIRouter(prefix="/search", tags=["Search"])
