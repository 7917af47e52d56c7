from fastapi import APIRouter

router = APIRouter(prefix="/barcodes", tags=["Barcodes"])
