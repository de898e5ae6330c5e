"""French identifiers with valid check keys (FINESS, SIREN, SIRET, RPPS), for the generated corpus.

Why: a corpus of "realistic" ROR resources must not carry identifiers a French registry would
reject at a glance; all four use the Luhn key (FINESS: 8 digits + key, SIREN: 8 + key,
SIRET: SIREN + 4-digit NIC + key, RPPS: "10" + 8 digits + key).
"""
from __future__ import annotations


def luhn_ok(digits: str) -> bool:
    """True when the digit string (key included, rightmost) passes the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def with_luhn_key(body: str) -> str:
    """Append the Luhn key digit that makes `body + key` valid."""
    for key in "0123456789":
        if luhn_ok(body + key):
            return body + key
    raise AssertionError("unreachable: one key digit always fits")


def finess(department: str, serial: int) -> str:
    """A FINESS number: 2-character department code (2A/2B become 20), 6-digit serial, Luhn key."""
    dept = "20" if department in ("2A", "2B") else department[:2]
    return with_luhn_key(f"{dept}{serial % 1_000_000:06d}")


def siren(serial: int) -> str:
    return with_luhn_key(f"{serial % 100_000_000:08d}")


def siret(siren_number: str, establishment: int) -> str:
    return with_luhn_key(f"{siren_number}{establishment % 10_000:04d}")


def rpps(serial: int) -> str:
    return with_luhn_key(f"10{serial % 100_000_000:08d}")
