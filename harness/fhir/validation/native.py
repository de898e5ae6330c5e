"""Invariants evaluated natively, because they run on every element or every resource.

Each function gives exactly the verdict of its published FHIRPath expression (a test runs both
on real and broken resources); fhirpathpy would cost 30-200 us per call where these cost < 1 us.
The dom-2..5 ones only look inside `contained`, so they hold trivially without it; with
`contained`, they go to FHIRPath (return None).
"""
from __future__ import annotations

from collections.abc import Callable


def _no_contained(value: object) -> bool | None:
    return True if isinstance(value, dict) and "contained" not in value else None


def _dom_6(value: object) -> bool | None:
    """`text.`div`.exists()`"""
    if not isinstance(value, dict):
        return None
    text = value.get("text")
    return isinstance(text, dict) and text.get("div") is not None


#: constraint key -> (published expression it stands for, native check: True/False, None = ask FHIRPath)
NATIVE: dict[str, tuple[str, Callable[[object], bool | None]]] = {
    "dom-2": ("contained.contained.empty()", _no_contained),
    "dom-3": ("contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | "
              "%resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = "
              "'#').exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = "
              "'#').exists()).not()).trace('unmatched', id).empty()", _no_contained),
    "dom-4": ("contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()", _no_contained),
    "dom-5": ("contained.meta.security.empty()", _no_contained),
    "dom-6": ("text.`div`.exists()", _dom_6),
}


def native_verdict(key: str, expression: str, value: object) -> bool | None:
    """The native verdict for this constraint, or None when FHIRPath must decide."""
    entry = NATIVE.get(key)
    if entry is None or entry[0] != expression:  # a profile redefining the key: not ours to shortcut
        return None
    return entry[1](value)
