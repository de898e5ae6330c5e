"""French health identifiers with valid check keys: FINESS, SIREN, SIRET, RPPS.

Why: the reference server is loaded with this synthetic dataset and vendors read its answers to
learn what a ROR resource looks like; an identifier that a French registry would reject at a
glance (wrong length, wrong key) would teach the wrong thing. All four use the Luhn key
(ISO/IEC 7812 "modulus 10"):

- FINESS: 9 characters = 2-character department + 6 digits + Luhn key. Corsican numbers start
  with 2A / 2B; overseas ones with 97 followed by 0 and the last digit of the department
  (971 -> 9701...). For the key, 2A and 2B are read as 20 (assumption, see docs/dataset.md).
- SIREN: 8 digits + Luhn key; SIRET: SIREN + 4-digit NIC + Luhn key over the 14 digits.
- RPPS: 11 digits, Luhn key last; the ROR Practitioner carries it as the national health
  professional identifier IDNPS = "8" + RPPS (OID 1.2.250.1.71.4.2.1).
- IdNatSt (national structure identifier) = "1" + FINESS for a FINESS-identified structure.

Each builder raises ValueError on impossible input; each validator answers False (never raises)
on any malformed string, so it can check data from outside.
"""
from __future__ import annotations

import re

_FINESS = re.compile(r"(?:\d{2}|2A|2B)\d{7}")
_OVERSEAS = ("971", "972", "973", "974", "976")


def luhn_valid(digits: str) -> bool:
    """True when the digit string, check key included as its last digit, passes Luhn."""
    if not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def luhn_key(body: str) -> str:
    """The one key digit that makes `body + key` pass Luhn."""
    if not body.isascii() or not body.isdigit():
        raise ValueError(f"Luhn key of a non-digit string: {body!r}")
    for key in "0123456789":
        if luhn_valid(body + key):
            return key
    raise AssertionError("unreachable: exactly one key digit fits")


def _finess_digits(value: str) -> str:
    """The digits the FINESS key is computed on: Corsican 2A / 2B read as 20."""
    return "20" + value[2:] if value[:2] in ("2A", "2B") else value


def finess(department: str, serial: int) -> str:
    """The FINESS number `serial` of a department ("01".."95", "2A", "2B", "971".."976")."""
    if department in _OVERSEAS:
        if not 0 <= serial < 10_000:
            raise ValueError(f"overseas FINESS serial out of range: {serial}")
        body = f"970{department[2]}{serial:04d}"
    elif re.fullmatch(r"\d{2}|2A|2B", department):
        if not 0 <= serial < 1_000_000:
            raise ValueError(f"FINESS serial out of range: {serial}")
        body = f"{department}{serial:06d}"
    else:
        raise ValueError(f"not a FINESS department code: {department!r}")
    return body + luhn_key(_finess_digits(body))


def is_finess(value: str) -> bool:
    """9 characters (2A/2B allowed in front) with a valid Luhn key."""
    return bool(_FINESS.fullmatch(value)) and luhn_valid(_finess_digits(value))


def siren(serial: int) -> str:
    """The SIREN number made of an 8-digit serial and its key."""
    if not 0 <= serial < 100_000_000:
        raise ValueError(f"SIREN serial out of range: {serial}")
    body = f"{serial:08d}"
    return body + luhn_key(body)


def is_siren(value: str) -> bool:
    return len(value) == 9 and luhn_valid(value)


def siret(siren_number: str, nic: int) -> str:
    """The SIRET of establishment number `nic` (1..9999) of a legal unit."""
    if not is_siren(siren_number):
        raise ValueError(f"not a SIREN: {siren_number!r}")
    if not 0 < nic < 10_000:
        raise ValueError(f"SIRET establishment number out of range: {nic}")
    body = f"{siren_number}{nic:04d}"
    return body + luhn_key(body)


def is_siret(value: str) -> bool:
    """14 digits with a valid Luhn key, whose first 9 form a valid SIREN."""
    return len(value) == 14 and luhn_valid(value) and is_siren(value[:9])


def rpps(serial: int) -> str:
    """An RPPS number: "10", an 8-digit serial, the key (the form RPPS numbers are issued in)."""
    if not 0 <= serial < 100_000_000:
        raise ValueError(f"RPPS serial out of range: {serial}")
    body = f"10{serial:08d}"
    return body + luhn_key(body)


def is_rpps(value: str) -> bool:
    return len(value) == 11 and luhn_valid(value)


def idnps(rpps_number: str) -> str:
    """The national health professional identifier of an RPPS-registered professional."""
    if not is_rpps(rpps_number):
        raise ValueError(f"not an RPPS number: {rpps_number!r}")
    return "8" + rpps_number


def idnst(finess_number: str) -> str:
    """The national structure identifier (IdNatSt) of a FINESS-identified structure."""
    if not is_finess(finess_number):
        raise ValueError(f"not a FINESS number: {finess_number!r}")
    return "1" + finess_number
