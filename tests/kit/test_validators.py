"""Identifier validators: NPI and DEA by their rules (property-based), postal fields by example."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from pestle.kit.validators import (
    Dea,
    Npi,
    Phone,
    Ssn,
    UsState,
    ZipCode,
    check_dea,
    check_npi,
    check_phone,
    check_ssn,
    check_state,
    check_zip,
    dea_check_digit,
    npi_check_digit,
)

EXAMPLES = settings(max_examples=200, deadline=None)

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)
letters = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2)


@st.composite
def npis(draw: st.DrawFn) -> str:
    """An NPI built from the rule: 1 or 2, eight more digits, then the check digit."""
    first_nine = draw(st.sampled_from("12")) + draw(
        st.text(alphabet="0123456789", min_size=8, max_size=8)
    )
    return first_nine + str(npi_check_digit(first_nine))


@st.composite
def deas(draw: st.DrawFn) -> str:
    """A DEA number built from the rule: 2 letters, six digits, then the check digit."""
    six = draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
    return draw(letters) + six + str(dea_check_digit(six))


def with_digit(value: str, position: int, digit: str) -> str:
    return value[:position] + digit + value[position + 1 :]


class TestNpi:
    @EXAMPLES
    @given(npis())
    @example("1234567893")  # CMS's published example
    def test_numbers_built_from_the_rule_pass(self, value: str) -> None:
        assert check_npi(value) == value

    @EXAMPLES
    @given(npis(), st.integers(min_value=0, max_value=9), digits)
    def test_any_single_digit_change_fails(self, value: str, position: int, digit: str) -> None:
        changed = with_digit(value, position, digit)
        if changed == value:
            return

        with pytest.raises(ValueError, match="NPI"):
            check_npi(changed)

    @pytest.mark.parametrize(
        ("value", "rule"),
        [
            ("123456789", "an NPI must be exactly 10 digits"),
            ("12345678930", "an NPI must be exactly 10 digits"),
            ("12345-7893", "an NPI must be exactly 10 digits"),
            ("1\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0663", "exactly 10 digits"),
            ("3234567891", "an NPI starts with 1 (individual) or 2 (organisation)"),
            ("1234567890", "the NPI check digit is wrong"),
        ],
        ids=["short", "long", "dash", "arabic-indic-digits", "first-digit", "checksum"],
    )
    def test_each_rule_names_itself(self, value: str, rule: str) -> None:
        with pytest.raises(ValueError, match=rule.replace("(", r"\(").replace(")", r"\)")):
            check_npi(value)

    def test_the_type_strips_spaces(self) -> None:
        assert TypeAdapter(Npi).validate_python(" 1234567893 ") == "1234567893"


class TestDea:
    @EXAMPLES
    @given(deas())
    @example("FD1234563")
    def test_numbers_built_from_the_rule_pass(self, value: str) -> None:
        assert check_dea(value) == value

    @EXAMPLES
    @given(deas(), st.integers(min_value=2, max_value=8), digits)
    def test_a_single_digit_change_fails_unless_it_is_by_5_at_a_doubled_position(
        self, value: str, position: int, digit: str
    ) -> None:
        changed = with_digit(value, position, digit)
        if changed == value:
            return
        # d2, d4 and d6 count twice, and 2 * 5 ends in 0: the checksum cannot see that change.
        doubled = position in (3, 5, 7)
        if doubled and abs(int(digit) - int(value[position])) == 5:
            assert check_dea(changed) == changed
            return

        with pytest.raises(ValueError, match="DEA check digit"):
            check_dea(changed)

    @pytest.mark.parametrize(
        ("value", "rule"),
        [
            ("F91234563", "a DEA number is 2 letters followed by 7 digits"),
            ("FD123456", "a DEA number is 2 letters followed by 7 digits"),
            ("FD12345634", "a DEA number is 2 letters followed by 7 digits"),
            ("FD\u0661\u0662\u0663\u0664\u0665\u0666\u0663", "2 letters followed by 7 digits"),
            ("FD1234564", "the DEA check digit is wrong"),
        ],
        ids=["digit-second", "short", "long", "arabic-indic-digits", "checksum"],
    )
    def test_each_rule_names_itself(self, value: str, rule: str) -> None:
        with pytest.raises(ValueError, match=rule):
            check_dea(value)

    def test_the_type_strips_and_upper_cases(self) -> None:
        assert TypeAdapter(Dea).validate_python(" fd1234563 ") == "FD1234563"


class TestPhone:
    @pytest.mark.parametrize("value", ["6417383445", "0000000000"])
    def test_ten_digits_pass(self, value: str) -> None:
        assert check_phone(value) == value

    @pytest.mark.parametrize(
        "value",
        ["641738344", "64173834450", "641-738-3445", "(641)7383445", "+16417383445", "641738344a"],
    )
    def test_anything_else_fails(self, value: str) -> None:
        with pytest.raises(ValueError, match="exactly 10 digits, with no punctuation"):
            check_phone(value)

    def test_digits_of_other_scripts_fail(self) -> None:
        with pytest.raises(ValueError, match="exactly 10 digits"):
            check_phone("\u0666\u0664\u0661\u0667\u0663\u0668\u0663\u0664\u0664\u0665")

    def test_the_type_strips_spaces(self) -> None:
        assert TypeAdapter(Phone).validate_python(" 6417383445\n") == "6417383445"


class TestState:
    @pytest.mark.parametrize(
        ("value", "stored"), [("CA", "CA"), ("ca", "CA"), ("Dc", "DC"), ("PR", "PR"), ("AE", "AE")]
    )
    def test_usps_codes_pass_upper_cased(self, value: str, stored: str) -> None:
        assert check_state(value) == stored

    @pytest.mark.parametrize("value", ["XX", "Calif", "C", "", "C A"])
    def test_anything_else_fails(self, value: str) -> None:
        with pytest.raises(ValueError, match=f"{value!r} is not a USPS state code"):
            check_state(value)

    def test_the_type_strips_spaces(self) -> None:
        assert TypeAdapter(UsState).validate_python(" ny ") == "NY"


class TestZip:
    @pytest.mark.parametrize(
        ("value", "stored"),
        [("02108", "02108"), ("021081234", "021081234"), ("02108-1234", "021081234")],
    )
    def test_five_or_nine_digits_pass_without_the_dash(self, value: str, stored: str) -> None:
        assert check_zip(value) == stored

    @pytest.mark.parametrize(
        "value",
        [
            "2108",
            "021081",
            "02108-123",
            "02108--1234",
            "0210 8",
            "ABCDE",
            "\u0660\u0662\u0661\u0660\u0668",
        ],
    )
    def test_anything_else_fails(self, value: str) -> None:
        with pytest.raises(ValueError, match="a ZIP code must be 5 digits or ZIP\\+4"):
            check_zip(value)

    def test_the_type_strips_spaces(self) -> None:
        assert TypeAdapter(ZipCode).validate_python(" 02108-1234 ") == "021081234"


class TestSsn:
    @pytest.mark.parametrize(
        ("value", "stored"), [("123456789", "123456789"), ("123-45-6789", "123456789")]
    )
    def test_issuable_numbers_pass_as_digits(self, value: str, stored: str) -> None:
        assert check_ssn(value) == stored

    @pytest.mark.parametrize("value", ["12345678", "1234567890", "123-45-678a", "123 45 6789"])
    def test_other_shapes_fail(self, value: str) -> None:
        with pytest.raises(ValueError, match="an SSN is 9 digits"):
            check_ssn(value)

    @pytest.mark.parametrize(
        "value", ["000456789", "666456789", "900456789", "123006789", "123450000"]
    )
    def test_numbers_never_issued_fail(self, value: str) -> None:
        with pytest.raises(ValueError, match="not an SSN the Social Security Administration"):
            check_ssn(value)

    def test_a_type_error_names_the_rule(self) -> None:
        with pytest.raises(ValidationError) as raised:
            TypeAdapter(Ssn).validate_python("000-45-6789")

        (problem,) = raised.value.errors()
        assert problem["msg"] == (
            "Value error, this is not an SSN the Social Security Administration issues"
        )
