from pestle.prescriptions.quantity_units import (
    QUANTITY_UNITS,
    QuantityUnit,
    find_unit,
    load_quantity_units,
)


def test_the_list_has_the_forty_most_common_units_once_each() -> None:
    codes = [unit.code for unit in QUANTITY_UNITS]
    names = [unit.name.casefold() for unit in QUANTITY_UNITS]

    assert len(QUANTITY_UNITS) >= 40
    assert len(set(codes)) == len(codes)
    assert len(set(names)) == len(names)
    assert all(code.startswith("C") and code[1:].isdigit() for code in codes)


def test_the_list_is_loaded_once() -> None:
    assert load_quantity_units() is load_quantity_units()
    assert load_quantity_units() is QUANTITY_UNITS


def test_the_units_named_by_the_contract_have_their_nci_codes() -> None:
    assert find_unit("C28253") == QuantityUnit("C28253", "Milligram", current=False)
    assert find_unit("C48480") == QuantityUnit("C48480", "Capsule")
    assert find_unit("C28254") == QuantityUnit("C28254", "Milliliter")
    assert find_unit("C48542") == QuantityUnit("C48542", "Tablet")
    assert find_unit("C48155") == QuantityUnit("C48155", "Gram")
    assert find_unit("C38046") == QuantityUnit("C38046", "Unspecified")
    assert find_unit("C64933") == QuantityUnit("C64933", "Each")


def test_find_unit_by_name_ignores_case_and_surrounding_space() -> None:
    assert find_unit("gram") == QuantityUnit("C48155", "Gram")
    assert find_unit("  MILLILITER ") == QuantityUnit("C28254", "Milliliter")
    assert find_unit("Pen Needle") == QuantityUnit("C120216", "Pen Needle")


def test_codes_are_exact() -> None:
    assert find_unit("c48155") is None
    assert find_unit("C4815") is None
    assert find_unit("Grams") is None
    assert find_unit("") is None


def test_sunset_codes_are_kept_but_marked() -> None:
    vial = find_unit("Vial")

    assert vial == QuantityUnit("C48551", "Vial", current=False)
    assert sum(unit.current for unit in QUANTITY_UNITS) == 28
