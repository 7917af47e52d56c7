"""GS1 element strings: every form a scanner sends reads the same, whatever the lot and serial."""

from datetime import date

import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st

from pestle.barcodes import gs1
from pestle.kit.ndc import gs1_check_digit

# GS1's character set 82, less what would read as markup in the bracketed or <GS> forms.
DATA = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-./_!%&*+,:;=?",
    min_size=1,
    max_size=20,
)


@st.composite
def packages(draw: st.DrawFn) -> tuple[str, date, str, str]:
    body = "003" + draw(st.text(alphabet="0123456789", min_size=10, max_size=10))
    # Two-digit years are read within GS1's window of 49 years back and 50 ahead.
    year = date.today().year
    expiry = draw(st.dates(min_value=date(year - 40, 1, 1), max_value=date(year + 40, 12, 31)))
    return body + str(gs1_check_digit(body)), expiry, draw(DATA), draw(DATA)


@settings(max_examples=150, deadline=None)
@given(packages())
def test_every_form_reads_the_same(package: tuple[str, date, str, str]) -> None:
    gtin, expiry, lot, serial = package
    yymmdd = expiry.strftime("%y%m%d")
    hri = f"(01){gtin}(17){yymmdd}(10){lot}(21){serial}"
    raw = f"01{gtin}17{yymmdd}10{lot}\x1d21{serial}"
    symbol = zxingcpp.create_barcode(hri, zxingcpp.BarcodeFormat.DataMatrix, gs1=True)
    image = symbol.to_image(scale=2)
    [scanned] = zxingcpp.read_barcodes(image, text_mode=zxingcpp.TextMode.Plain)
    forms = [hri, raw, raw.replace("\x1d", "<GS>"), "]d2" + raw, scanned.text, raw + "\r\n"]
    for form in forms:
        parsed = gs1.parse(form)
        assert parsed.gtin == gtin
        assert parsed.ndc_digits == gtin[3:13]
        assert parsed.upc == gtin[2:]
        assert parsed.expiration_date == expiry
        assert parsed.batch_number == lot
        assert parsed.serial_number == serial
