"""FINESS / SIREN / SIRET / RPPS builders and validators, both ways."""
from __future__ import annotations

import pytest

from harness.dataset import identifiers as ids

# Published identifiers of public bodies (facts, used as known-good samples): CHU de Bordeaux (EJ),
# AP-HP (EJ), CHU de La Réunion (EJ), CHU de Pointe-à-Pitre (EJ).
REAL_FINESS = ("330781196", "750712184", "970421038", "970100228")


@pytest.mark.parametrize("value", REAL_FINESS)
def test_real_finess_numbers_pass(value: str) -> None:
    assert ids.is_finess(value)


@pytest.mark.parametrize("value", ["330781197", "75071218", "7507121840", "33078119A", "", "2C0000016", "ABCDEFGHI"])
def test_broken_finess_numbers_fail(value: str) -> None:
    assert not ids.is_finess(value)


@pytest.mark.parametrize("department", ["01", "29", "2A", "2B", "75", "95", "971", "974", "976"])
def test_built_finess_is_valid_and_keeps_its_department(department: str) -> None:
    for serial in (0, 1, 4321, 9999):
        value = ids.finess(department, serial)
        assert len(value) == 9 and ids.is_finess(value)
        expected = f"970{department[2]}" if len(department) == 3 else department
        assert value.startswith(expected)


def test_corsican_key_is_computed_on_20() -> None:
    value = ids.finess("2A", 123)
    assert value[:2] == "2A" and ids.luhn_valid("20" + value[2:])
    assert not ids.is_finess(value[:-1] + str((int(value[-1]) + 1) % 10))


@pytest.mark.parametrize("department, serial", [("2C", 1), ("977", 1), ("1", 1), ("01", 1_000_000), ("974", 10_000), ("01", -1)])
def test_finess_builder_refuses_impossible_input(department: str, serial: int) -> None:
    with pytest.raises(ValueError):
        ids.finess(department, serial)


def test_siren_and_siret() -> None:
    siren = ids.siren(26_330_012)
    assert siren == "263300121" and ids.is_siren(siren)  # the CH Estuaire example's SIREN
    siret = ids.siret(siren, 1)
    assert siret == "26330012100013" and ids.is_siret(siret) and siret[:9] == siren
    assert not ids.is_siret("26330012100014")  # wrong key
    assert not ids.is_siret("2633001210001")  # 13 digits
    with pytest.raises(ValueError):
        ids.siret("263300122", 1)  # not a SIREN
    with pytest.raises(ValueError):
        ids.siret(siren, 0)


def test_rpps_idnps_and_idnst() -> None:
    rpps = ids.rpps(12_345)
    assert len(rpps) == 11 and rpps.startswith("10") and ids.is_rpps(rpps)
    assert not ids.is_rpps("11111573474")  # the IG's illustration number has no valid key
    assert ids.idnps(rpps) == "8" + rpps
    assert ids.idnst("330781196") == "1330781196"
    with pytest.raises(ValueError):
        ids.idnps("10000000000")
    with pytest.raises(ValueError):
        ids.idnst("330781197")


def test_luhn_key_and_garbage() -> None:
    assert ids.luhn_key("7992739871") == "3"  # the textbook Luhn example
    assert ids.luhn_valid("79927398713") and not ids.luhn_valid("79927398710")
    assert not ids.luhn_valid("") and not ids.luhn_valid("12a4") and not ids.luhn_valid("١٢٣")
    with pytest.raises(ValueError):
        ids.luhn_key("12a")
