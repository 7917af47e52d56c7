"""NDC and GTIN: the accepted forms, the 10/11-digit mapping and the pydantic types."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from pestle.kit.ndc import (
    ELEVEN_DIGIT_RULE,
    NDC_RULE,
    TEN_DIGIT_LAYOUTS,
    Gtin,
    Ndc,
    NdcSegments,
    check_gtin,
    from_eleven,
    gs1_check_digit,
    parse_ndc,
    to_ten,
)


class Lot(BaseModel):
    ndc: Ndc | None = None
    gtin: Gtin | None = None


@st.composite
def ten_digit(draw: st.DrawFn) -> NdcSegments:
    layout = draw(st.sampled_from(TEN_DIGIT_LAYOUTS))
    parts = [draw(st.text("0123456789", min_size=n, max_size=n)) for n in layout]
    return NdcSegments(*parts)


@given(ten_digit())
def test_every_ten_digit_form_maps_to_eleven_digits_and_back(ndc: NdcSegments) -> None:
    eleven = ndc.eleven
    assert len(eleven) == 11
    assert eleven.isdigit()
    assert to_ten(eleven, ndc.layout) == ndc
    assert parse_ndc(ndc.hyphenated) == ndc
    # The 11-digit form alone gives the same segments back unless it is ambiguous.
    found = from_eleven(eleven)
    assert found == ndc or found.layout == (5, 4, 2)
    assert found.eleven == eleven


@given(ten_digit())
def test_eleven_digit_forms_parse_with_or_without_hyphens(ndc: NdcSegments) -> None:
    eleven = ndc.eleven
    hyphenated = f"{eleven[:5]}-{eleven[5:9]}-{eleven[9:]}"
    assert parse_ndc(eleven) == parse_ndc(hyphenated) == from_eleven(eleven)


@pytest.mark.parametrize(
    ("given_ndc", "stored", "eleven"),
    [
        ("0002-1433-80", ("0002", "1433", "80"), "00002143380"),
        ("50242-040-62", ("50242", "040", "62"), "50242004062"),
        ("60575-4112-1", ("60575", "4112", "1"), "60575411201"),
        ("00002-1433-80", ("0002", "1433", "80"), "00002143380"),
        ("50242004062", ("50242", "040", "62"), "50242004062"),
        # Labeler and package could both be the padded segment: kept as 5-4-2.
        ("01234-5678-01", ("01234", "5678", "01"), "01234567801"),
        (" 0002-1433-80 ", ("0002", "1433", "80"), "00002143380"),
    ],
)
def test_accepted_forms(given_ndc: str, stored: tuple[str, str, str], eleven: str) -> None:
    segments = parse_ndc(given_ndc)
    assert (segments.labeler, segments.product, segments.package) == stored
    assert segments.eleven == eleven


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "0002143380",
        "1234-567-89",
        "123456-789-0",
        "1234-5678-9",
        "12-3456-7890",
        "abcd-efgh-ij",
        "0002 1433 80",
        "0002-1433-8O",
        "٠٠٠٢-١٤٣٣-٨٠",
        "123456789012",
    ],
)
def test_refused_forms(bad: str) -> None:
    with pytest.raises(ValueError, match="an NDC is 10 digits"):
        parse_ndc(bad)


def test_eleven_digits_without_a_padding_zero_are_refused() -> None:
    with pytest.raises(ValueError, match="an 11-digit NDC pads one segment") as raised:
        parse_ndc("12345678912")
    assert str(raised.value) == ELEVEN_DIGIT_RULE


def test_pydantic_type_normalises_and_names_the_rule() -> None:
    assert Lot(ndc="00002-1433-80").ndc == "0002-1433-80"
    with pytest.raises(ValidationError) as raised:
        Lot(ndc="12-34-56")
    [error] = raised.value.errors()
    assert error["loc"] == ("ndc",)
    assert error["msg"] == f"Value error, {NDC_RULE}"


@pytest.mark.parametrize(
    ("given_gtin", "gtin_14"),
    [
        ("96385074", "00000096385074"),
        ("036000291452", "00036000291452"),
        ("4006381333931", "04006381333931"),
        ("10036000291459", "10036000291459"),
        ("0-36000-29145-2", "00036000291452"),
    ],
)
def test_gtins(given_gtin: str, gtin_14: str) -> None:
    assert check_gtin(given_gtin) == gtin_14
    assert Lot(gtin=given_gtin).gtin == gtin_14


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("036000291453", "the GTIN check digit is wrong (GS1 mod 10)"),
        ("12345", "a GTIN is 8, 12, 13 or 14 digits"),
        ("03600029145X", "a GTIN is 8, 12, 13 or 14 digits"),
        ("123456789012345", "a GTIN is 8, 12, 13 or 14 digits"),
    ],
)
def test_refused_gtins(bad: str, message: str) -> None:
    with pytest.raises(ValueError, match="GTIN") as raised:
        check_gtin(bad)
    assert str(raised.value) == message


@given(st.text("0123456789", min_size=7, max_size=13))
def test_a_computed_check_digit_always_passes(body: str) -> None:
    if len(body) + 1 not in (8, 12, 13, 14):
        return
    gtin = body + str(gs1_check_digit(body))
    assert check_gtin(gtin) == gtin.zfill(14)
