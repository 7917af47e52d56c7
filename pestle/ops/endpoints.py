from fastapi import APIRouter
from fastapi.responses import JSONResponse

from pestle.db import DatabaseDep

router = APIRouter(tags=["Operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "The database cannot be reached."}})
async def readyz(database: DatabaseDep) -> JSONResponse:
    """The process can reach its database."""
    if await database.is_reachable():
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
