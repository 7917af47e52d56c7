"""GET .../label.png: an entity's newest usable barcode as a printable symbol."""

from datetime import UTC, datetime

import httpx
import pytest

from tests.barcodes.support import API, decode_png, issue, set_expiry
from tests.conftest import Db
from tests.orders.support import make_patient

FORMATS = ("aztec", "datamatrix", "qr", "code128")


async def test_every_format_decodes_to_the_newest_value(clinic_a: httpx.AsyncClient) -> None:
    patient = await make_patient(clinic_a)
    await issue(clinic_a, "patient", patient["id"])
    newest = await issue(clinic_a, "patient", patient["id"])
    url = f"{API}/patient/{patient['id']}/label.png"
    for symbol in FORMATS:
        response = await clinic_a.get(url, params={"format": symbol})
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        decoded = decode_png(response.content)
        assert decoded.texts == [newest["barcode_value"]], symbol
        # Printable: the symbology's quiet zone leaves the edges light (Aztec needs none,
        # Code 128 has one left and right).
        rows = decoded.pixels
        sides_light = 0 not in [row[0] for row in rows] and 0 not in [row[-1] for row in rows]
        ends_light = 0 not in rows[0] and 0 not in rows[-1]
        assert sides_light is (symbol != "aztec"), symbol
        assert ends_light is (symbol in ("datamatrix", "qr")), symbol
    default = await clinic_a.get(url)
    assert default.content == (await clinic_a.get(url, params={"format": "aztec"})).content


async def test_scale_sets_pixels_per_module(clinic_a: httpx.AsyncClient) -> None:
    patient = await make_patient(clinic_a)
    await issue(clinic_a, "patient", patient["id"])
    url = f"{API}/patient/{patient['id']}/label.png"
    one = decode_png((await clinic_a.get(url, params={"scale": 1})).content)
    five = decode_png((await clinic_a.get(url, params={"scale": 5})).content)
    assert (five.width, five.height) == (one.width * 5, one.height * 5)
    assert five.texts == one.texts


async def test_without_a_usable_barcode_is_404(clinic_a: httpx.AsyncClient, db: Db) -> None:
    patient = await make_patient(clinic_a)
    url = f"{API}/patient/{patient['id']}/label.png"
    expected = {
        "error": "NoActiveBarcode",
        "detail": f"patient {patient['id']} has no active barcode; issue one with "
        f"POST /api/v1/barcodes/patient/{patient['id']}.",
    }
    none = await clinic_a.get(url)
    assert (none.status_code, none.json()) == (404, expected)
    expired = await issue(clinic_a, "patient", patient["id"])
    await set_expiry(db, expired["id"], datetime(2025, 1, 1, tzinfo=UTC))
    late = await clinic_a.get(url)
    assert (late.status_code, late.json()) == (404, expected)
    deactivated = await issue(clinic_a, "patient", patient["id"])
    await clinic_a.delete(f"{API}/patient/{patient['id']}/{deactivated['id']}")
    gone = await clinic_a.get(url)
    assert (gone.status_code, gone.json()) == (404, expected)


@pytest.mark.parametrize(
    ("params", "loc"),
    [({"format": "pdf417"}, "format"), ({"scale": 0}, "scale"), ({"scale": 21}, "scale")],
)
async def test_bad_format_or_scale_is_422(
    clinic_a: httpx.AsyncClient, params: dict[str, object], loc: str
) -> None:
    patient = await make_patient(clinic_a)
    await issue(clinic_a, "patient", patient["id"])
    response = await clinic_a.get(f"{API}/patient/{patient['id']}/label.png", params=params)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", loc]
    if loc == "format":
        assert error["msg"] == "Input should be 'aztec', 'datamatrix', 'qr' or 'code128'"
