"""Helpers for the barcode tests: one entity of every type, and PNGs decoded with zxing-cpp."""

import base64
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import png
import zxingcpp
from sqlalchemy import update

from pestle import models
from tests.conftest import Db
from tests.orders.support import make_product, ok, ready_order

API = "/api/v1/barcodes"
ENTITY_TYPES = list(models.BARCODE_ENTITY_TYPES)
NAIVE_MICROSECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}")
BARCODE_KEYS = {
    "id",
    "barcode_value",
    "entity_type",
    "entity_id",
    "created_at",
    "expires_at",
    "image",
    "is_active",
    "deactivated_at",
}


async def me(client: httpx.AsyncClient) -> dict[str, Any]:
    return ok(await client.get("/api/v1/auth/verify"))["user"]  # type: ignore[no-any-return]


async def entities(client: httpx.AsyncClient) -> dict[str, str]:
    """The id of one entity of every type, all the client's customer's."""
    ready = await ready_order(client)
    plain = await make_product(client, "non_prescription", name="Sunscreen", sku="SUN-1")
    material = await make_product(client, "order_material", name="Insert", sku="INS-1")
    return {
        "user": (await me(client))["id"],
        "order": ready.order["id"],
        "patient": ready.patient["id"],
        "prescription": ready.erx["medications"][0]["id"],
        "prescription_product": ready.product["id"],
        "non_prescription_product": plain["id"],
        "order_material": material["id"],
        "inventory": ready.lot["id"],
    }


async def issue(
    client: httpx.AsyncClient, entity_type: str, entity_id: str, **body: Any
) -> dict[str, Any]:
    url = f"{API}/{entity_type}/{entity_id}"
    response = await (client.post(url, json=body) if body else client.post(url))
    return ok(response, 201)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Decoded:
    texts: list[str]
    width: int
    height: int
    info: dict[str, Any]
    pixels: list[list[int]]


def decode_png(data: bytes, *, gs1_plain: bool = False) -> Decoded:
    """The symbols zxing-cpp reads from PNG bytes, and the picture's size and pixels (0 dark)."""
    width, height, rows, info = png.Reader(bytes=data).read()
    pixels = [list(row) for row in rows]
    top = (1 << info["bitdepth"]) - 1
    grey = bytes(255 if value == top else 0 for row in pixels for value in row)
    view = memoryview(grey).cast("B", (height, width))
    mode = zxingcpp.TextMode.Plain if gs1_plain else zxingcpp.TextMode.HRI
    found = zxingcpp.read_barcodes(view, text_mode=mode)
    return Decoded([symbol.text for symbol in found], width, height, info, pixels)


def decode_image(uri: str) -> Decoded:
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    return decode_png(base64.b64decode(uri[len(prefix) :]))


def aztec_modules(value: str) -> int:
    """The side of ``value``'s Aztec symbol in modules."""
    side: int = (
        zxingcpp.create_barcode(value, zxingcpp.BarcodeFormat.Aztec)
        .to_image(scale=1, add_quiet_zones=False)
        .shape[0]
    )
    return side


def assert_blend_image(barcode: dict[str, Any]) -> None:
    """``image`` is Blend's: an Aztec of the value, 1-bit greyscale, 2 px per module, no
    quiet zone (dark modules on every edge)."""
    decoded = decode_image(barcode["image"])
    assert decoded.texts == [barcode["barcode_value"]]
    side = aztec_modules(barcode["barcode_value"]) * 2
    assert (decoded.width, decoded.height) == (side, side)
    assert decoded.info["greyscale"] is True
    assert decoded.info["bitdepth"] == 1
    rows = decoded.pixels
    edges = [rows[0], rows[-1], [row[0] for row in rows], [row[-1] for row in rows]]
    assert all(0 in edge for edge in edges)
    # Every module is a 2 x 2 block of one colour.
    for y in range(0, side, 2):
        for x in range(0, side, 2):
            assert rows[y][x] == rows[y][x + 1] == rows[y + 1][x] == rows[y + 1][x + 1]


def parse_naive(value: str) -> datetime:
    assert NAIVE_MICROSECONDS.fullmatch(value), value
    return datetime.fromisoformat(value)


async def set_expiry(db: Db, barcode_id: str, expires_at: datetime) -> None:
    async with db.database.transaction() as session:
        await session.execute(
            update(models.Barcode)
            .where(models.Barcode.id == uuid.UUID(barcode_id))
            .values(expires_at=expires_at)
        )
