"""POST /barcodes/parse: a drug package's GS1 DataMatrix resolved to our products and lots."""

from typing import Any

import httpx
import zxingcpp

from pestle.kit.ndc import gs1_check_digit
from tests.barcodes.support import API
from tests.conftest import Db
from tests.orders.support import LOT, make_formula, make_product, ok, stock

PARSE = f"{API}/parse"
GTIN = "00312345678906"  # indicator 0, GS1 US drug prefix 03, NDC 12345-678-90, check 6
HRI = f"(01){GTIN}(17)271231(10)LOT123(21)SERIAL9"
# The raw form: FNC1 left implicit, GS after the variable-length lot.
RAW = f"01{GTIN}1727123110LOT123\x1d21SERIAL9"
ELEMENTS = [
    {"ai": "01", "title": "GTIN", "value": GTIN},
    {"ai": "17", "title": "USE BY or EXPIRY", "value": "271231"},
    {"ai": "10", "title": "BATCH/LOT", "value": "LOT123"},
    {"ai": "21", "title": "SERIAL", "value": "SERIAL9"},
]


def package_datamatrix() -> list[zxingcpp.Barcode]:
    """The symbol as printed on a package: a GS1 DataMatrix (FNC1 first), read back."""
    symbol = zxingcpp.create_barcode(HRI, zxingcpp.BarcodeFormat.DataMatrix, gs1=True)
    image = symbol.to_image(scale=3, add_quiet_zones=True)
    hri = zxingcpp.read_barcodes(image)
    raw = zxingcpp.read_barcodes(image, text_mode=zxingcpp.TextMode.Plain)
    return [*hri, *raw]


def lot_json(lot: dict[str, Any], *product_ids: str) -> dict[str, Any]:
    keys = ("id", "type", "batch_number", "expiration_date", "ndc", "gtin", "upc")
    return {
        **{key: lot[key] for key in keys},
        "current_quantity": 100,
        "is_active": True,
        "product_ids": list(product_ids),
    }


def product_json(product: dict[str, Any], kind: str) -> dict[str, Any]:
    return {"id": product["id"], "kind": kind, "sku": product["sku"], "name": product["name"]}


async def test_a_package_datamatrix_resolves_to_its_lot_and_product(
    clinic_a: httpx.AsyncClient, clinic_b: httpx.AsyncClient, db: Db
) -> None:
    formula = await make_formula(clinic_a)
    cream = await make_product(clinic_a, formula_id=formula["number"], sku="CREAM")
    kit = await make_product(clinic_a, "non_prescription", name="Cream kit", sku="KIT")
    other = await make_product(clinic_a, "non_prescription", name="Other", sku="OTHER")
    by_gtin = await stock(
        clinic_a, cream, gtin=GTIN, batch_number="LOT123", expiration_date="2027-12-31T00:00:00"
    )
    # The same item, another batch: it names the product but is not the scanned lot.
    await stock(clinic_a, cream, ndc="12345-678-90", batch_number="LOT999")
    by_ndc = await stock(clinic_a, cream, ndc="12345-678-90", batch_number="LOT123")
    by_upc = await stock(
        clinic_a, kit, "non_prescription", upc="3-12345-67890-6", batch_number="LOT123"
    )
    # Same batch number, another item.
    await stock(clinic_a, other, "non_prescription", gtin="00012345678905", batch_number="LOT123")

    scans = package_datamatrix()
    assert [scan.symbology_identifier for scan in scans] == ["]d2", "]d2"]
    assert scans[0].text == HRI
    assert scans[1].text == RAW
    expected = {
        "gtin": GTIN,
        "ndc": "1234567890",
        "batch_number": "LOT123",
        "expiration_date": "2027-12-31",
        "serial_number": "SERIAL9",
        "is_expired": False,
        "elements": ELEMENTS,
        "inventory_lots": [
            lot_json(by_gtin, cream["id"]),
            lot_json(by_ndc, cream["id"]),
            lot_json(by_upc, kit["id"]),
        ],
        "products": [product_json(cream, "prescription"), product_json(kit, "non_prescription")],
    }
    assert expected["inventory_lots"][0]["ndc"] is None
    assert expected["inventory_lots"][1]["ndc"] == "12345-678-90"
    async with db.writes_nothing():
        for text in (scans[0].text, scans[1].text, "]d2" + scans[1].text):
            assert ok(await clinic_a.post(PARSE, json={"barcode_value": text})) == expected
        # Another customer reads the package but sees none of Clinic A's stock.
        theirs = ok(await clinic_b.post(PARSE, json={"barcode_value": HRI}))
        assert theirs == {**expected, "inventory_lots": [], "products": []}


async def test_the_forms_a_scanner_sends(clinic_a: httpx.AsyncClient) -> None:
    forms = [
        "0100312345678906172712311 0LOT123<GS>21SERIAL9",
        "\x1d01003123456789061727123110LOT123\x1d21SERIAL9\r\n",
        "]C101003123456789061727123110LOT123\x1d21SERIAL9",
    ]
    for form in forms:
        parsed = ok(await clinic_a.post(PARSE, json={"barcode_value": form}))
        assert parsed["elements"] == ELEMENTS, form


async def test_a_gtin_that_is_not_an_ndc_and_an_expired_package(
    clinic_a: httpx.AsyncClient,
) -> None:
    body = "0501234567890"
    gtin = body + str(gs1_check_digit(body))
    parsed = ok(await clinic_a.post(PARSE, json={"barcode_value": f"(01){gtin}(17)200131"}))
    assert parsed == {
        "gtin": gtin,
        "ndc": None,
        "batch_number": None,
        "expiration_date": "2020-01-31",
        "serial_number": None,
        "is_expired": True,
        "elements": [
            {"ai": "01", "title": "GTIN", "value": gtin},
            {"ai": "17", "title": "USE BY or EXPIRY", "value": "200131"},
        ],
        "inventory_lots": [],
        "products": [],
    }


async def test_unparseable_input_is_422_naming_the_problem(
    clinic_a: httpx.AsyncClient, db: Db
) -> None:
    cases = [
        ("hello", "NotGs1", "not a GS1 element string: Failed to get GS1 Application "
         "Identifier from 'hello'."),
        ("(17)271331", "NotGs1", "not a GS1 element string: Failed to match '17271331' "
         "with GS1 AI (17) pattern '^17(\\d{2}(?:0\\d|1[0-2])(?:[0-2]\\d|3[01]))$'."),
        ("(01)00312345678905", "InvalidGs1Element", "(01) Invalid GTIN check digit for "
         "'00312345678905': Expected 6, got 5."),
        (" \r\n", "NotGs1", "not a GS1 element string: it is empty"),
    ]  # fmt: skip
    async with db.writes_nothing():
        for value, error, detail in cases:
            response = await clinic_a.post(PARSE, json={"barcode_value": value})
            assert response.status_code == 422, value
            assert response.json() == {"error": error, "detail": f"barcode_value: {detail}"}
        for body in ({}, {"barcode_value": ""}, {"barcode_value": ["x"]}, {"value": HRI}):
            assert (await clinic_a.post(PARSE, json=body)).status_code == 422


async def test_the_pharmacys_lots_as_inventory_shows_them(
    clinic_a: httpx.AsyncClient, pharmacist: httpx.AsyncClient
) -> None:
    cream = await make_product(clinic_a, sku="CREAM")
    lot = {**LOT, "type": "prescription", "gtin": GTIN, "batch_number": "LOT123"}
    linked = ok(
        await pharmacist.post(
            "/api/v1/products/inventory",
            json={
                **lot,
                "associations": [
                    {"product_id": cream["id"], "type": "prescription", "units_per_product": 1}
                ],
            },
        ),
        201,
    )
    unlinked = ok(await pharmacist.post("/api/v1/products/inventory", json=lot), 201)
    mine = ok(await clinic_a.post(PARSE, json={"barcode_value": HRI}))
    assert [found["id"] for found in mine["inventory_lots"]] == [linked["id"]]
    assert mine["products"] == [product_json(cream, "prescription")]
    everything = ok(await pharmacist.post(PARSE, json={"barcode_value": HRI}))
    assert [found["id"] for found in everything["inventory_lots"]] == [linked["id"], unlinked["id"]]
    assert [found["product_ids"] for found in everything["inventory_lots"]] == [[cream["id"]], []]
    # Without a GTIN the batch number alone finds the lots.
    by_batch = ok(await clinic_a.post(PARSE, json={"barcode_value": "(10)LOT123"}))
    assert by_batch["gtin"] is None
    assert [found["id"] for found in by_batch["inventory_lots"]] == [linked["id"]]
