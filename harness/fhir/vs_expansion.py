"""Expand a ValueSet `compose` into sets that answer "is (system, code) in it?" by hash lookups.

Why not a flat list of codes: some parts of a value set cannot be expanded offline (a CodeSystem
that is not vendored or not complete, a filter this module does not implement, an imported value
set that is missing). Such parts are kept as *gaps* saying which system they could hold and why.
A code outside every gap is a definite non-member; a code that could fall in a gap is undecided,
so the caller reports it not-checked - never passed, never failed.

Supported: `include`/`exclude` with concept lists, a whole `system` (CodeSystem with
`content: complete`, nested concepts and `child`/`parent`/`subsumedBy` properties), `valueSet`
imports (intersected with each other and with the system part), and the filters `concept is-a`,
`concept descendent-of` and `concept =`. Exclusions are exact for codes with a system; a
system-less exclusion removes the code under every system; an exclusion with a system does not
narrow a code matched on code alone (no such case in the vendored data).
"""
from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

_HIERARCHY_PROPERTIES = {"child": "down", "parent": "up", "subsumedBy": "up"}


class Definitions(Protocol):
    """Where the expander finds the resources it expands (the terminology facade)."""

    def value_set(self, url: str) -> tuple[dict | None, str]:
        """The ValueSet with this canonical, or None and why it is unavailable."""

    def code_system(self, url: str) -> dict | None:
        """The CodeSystem with this canonical, or None."""


@dataclass(frozen=True)
class Gap:
    """A part of a value set that could not be expanded."""

    system: str | None  # the only system it could hold codes of; None: any system
    reason: str

    def covers(self, system: str | None) -> bool:
        return self.system is None or system is None or self.system == system


@dataclass(frozen=True)
class Expansion:
    """What is known of a value set's content; cheap to query, built once per value set."""

    pairs: frozenset[tuple[str, str]] = frozenset()
    #: code -> why it matches under any system (the source gave no usable system for it)
    code_only: Mapping[str, str] = field(default_factory=dict)
    gaps: tuple[Gap, ...] = ()  # includes that may hold more members
    exclusion_gaps: tuple[Gap, ...] = ()  # excludes that may remove members

    @cached_property
    def systems_of(self) -> dict[str, frozenset[str]]:
        """code -> systems it is a member under: lookups without a system, hints on a wrong one."""
        out: dict[str, set[str]] = {}
        for system, code in self.pairs:
            out.setdefault(code, set()).add(system)
        return {code: frozenset(systems) for code, systems in out.items()}

    @property
    def empty_and_open(self) -> bool:
        """Nothing is known to be in it and some part is missing: it cannot be checked at all."""
        return not self.pairs and not self.code_only and bool(self.gaps)

    def lookup(self, system: str | None, code: str) -> tuple[bool | None, str]:
        """(True | False | None when undecidable offline, why). `system` None: a bare `code`."""
        exact = code in self.systems_of if system is None else (system, code) in self.pairs
        if exact or code in self.code_only:
            blocking = _reasons(g for g in self.exclusion_gaps if g.covers(system))
            if blocking:
                return None, f"an exclusion of the value set cannot be evaluated offline: {blocking}"
            return True, "" if exact else self.code_only[code]
        open_parts = _reasons(g for g in self.gaps if g.covers(system))
        if open_parts:
            return None, open_parts
        elsewhere = self.systems_of.get(code)
        if elsewhere:
            return False, f"the value set has code '{code}' under system {', '.join(sorted(elsewhere))}"
        return False, ""


def _reasons(gaps: Iterable[Gap]) -> str:
    return "; ".join(dict.fromkeys(g.reason for g in gaps))


def _union(parts: list[Expansion]) -> Expansion:
    pairs: set[tuple[str, str]] = set()
    code_only: dict[str, str] = {}
    gaps: list[Gap] = []
    exclusion_gaps: list[Gap] = []
    for part in parts:
        pairs |= part.pairs
        code_only.update(part.code_only)
        gaps += part.gaps
        exclusion_gaps += part.exclusion_gaps
    return Expansion(frozenset(pairs), code_only, tuple(gaps), tuple(exclusion_gaps))


def _intersect(a: Expansion, b: Expansion, system: str | None) -> Expansion:
    """Both parts of one include (system part and imports). Any gap makes the whole include a gap:
    intersecting with an unknown set gives nothing certain."""
    undecided = a.gaps + b.gaps + a.exclusion_gaps + b.exclusion_gaps
    if undecided:
        return Expansion(gaps=(Gap(system, _reasons(undecided)),))
    pairs = {p for p in a.pairs if p in b.pairs or p[1] in b.code_only}
    pairs |= {p for p in b.pairs if p[1] in a.code_only}
    code_only = {c: why for c, why in a.code_only.items() if c in b.code_only}
    return Expansion(frozenset(pairs), code_only)


def _subtract(included: Expansion, excluded: Expansion) -> Expansion:
    pairs = frozenset(p for p in included.pairs if p not in excluded.pairs and p[1] not in excluded.code_only)
    code_only = {c: why for c, why in included.code_only.items() if c not in excluded.code_only}
    return Expansion(pairs, code_only, included.gaps + excluded.exclusion_gaps,
                     included.exclusion_gaps + excluded.gaps)


class _Hierarchy:
    """The codes of one complete CodeSystem and their is-a links (for filters)."""

    def __init__(self, cs: dict) -> None:
        self.url = cs.get("url", "?")
        self.meaning = cs.get("hierarchyMeaning")
        self.children: dict[str, set[str]] = {}
        self._descendants: dict[str, frozenset[str]] = {}
        found: set[str] = set()
        self._walk(cs.get("concept") or [], None, found)
        self.codes = frozenset(found)

    def _walk(self, concepts: list[dict], parent: str | None, found: set[str]) -> None:
        for concept in concepts:
            code = concept.get("code")
            if not isinstance(code, str):
                continue
            found.add(code)
            if parent is not None:
                self.children.setdefault(parent, set()).add(code)
            for prop in concept.get("property") or []:
                other = prop.get("valueCode")
                direction = _HIERARCHY_PROPERTIES.get(prop.get("code"))
                if direction == "down" and other:
                    self.children.setdefault(code, set()).add(other)
                elif direction == "up" and other:
                    self.children.setdefault(other, set()).add(code)
            self._walk(concept.get("concept") or [], code, found)

    def descendants(self, code: str) -> frozenset[str]:
        if code not in self._descendants:
            seen: set[str] = set()
            stack = list(self.children.get(code, ()))
            while stack:
                child = stack.pop()
                if child not in seen:
                    seen.add(child)
                    stack.extend(self.children.get(child, ()))
            self._descendants[code] = frozenset(seen & self.codes)
        return self._descendants[code]

    def select(self, flt: dict) -> frozenset[str] | str:
        """The codes a filter selects, or why it cannot be evaluated."""
        prop, op, value = flt.get("property"), flt.get("op"), flt.get("value")
        if prop == "concept" and op == "=":
            return self.codes & {value}
        if prop == "concept" and op in ("is-a", "descendent-of"):
            if self.meaning not in (None, "is-a"):
                return f"filter {op} on {self.url}: its hierarchy means '{self.meaning}', not is-a"
            below = self.descendants(value)
            return below | (self.codes & {value}) if op == "is-a" else below
        return f"filter '{prop} {op} {value}' on {self.url} is not supported offline"


class Expander:
    """Expands value sets on first use and keeps every expansion for the life of the process."""

    def __init__(self, definitions: Definitions) -> None:
        self._defs = definitions
        self._expansions: dict[str, Expansion] = {}
        self._hierarchies: dict[str, _Hierarchy | Gap] = {}
        self._expanding: set[str] = set()
        self._lock = threading.RLock()

    def expand(self, url: str) -> Expansion:
        """The expansion of a canonical (`|version` ignored: the definitions pick the version)."""
        base = url.partition("|")[0]
        cached = self._expansions.get(base)
        if cached is not None:
            return cached
        with self._lock:  # one expansion at a time, so that `_expanding` only sees real cycles
            if base in self._expansions:
                return self._expansions[base]
            if base in self._expanding:
                return Expansion(gaps=(Gap(None, f"value set {base} imports itself"),))
            self._expanding.add(base)
            try:
                vs, why = self._defs.value_set(base)
                expansion = self._compose(vs) if vs is not None else Expansion(gaps=(Gap(None, why),))
            finally:
                self._expanding.discard(base)
            self._expansions[base] = expansion
            return expansion

    def _compose(self, vs: dict) -> Expansion:
        compose = vs.get("compose") or {}
        if not compose.get("include"):
            return Expansion(gaps=(Gap(None, f"value set {vs.get('url')} has no compose.include"),))
        included = _union([self._clause(inc) for inc in compose["include"]])
        excludes = compose.get("exclude") or []
        return _subtract(included, _union([self._clause(exc) for exc in excludes])) if excludes else included

    def _clause(self, inc: dict) -> Expansion:
        """One include (or exclude): its system part and its imports, intersected."""
        system = inc.get("system")
        parts: list[Expansion] = []
        if system:
            parts.append(self._system_part(system, inc.get("concept"), inc.get("filter")))
        elif inc.get("concept"):
            why = "matched on code alone: the value set's include has no system (source defect)"
            parts.append(Expansion(code_only={c["code"]: why for c in inc["concept"]}))
        parts += [self.expand(url) for url in inc.get("valueSet") or []]
        if not parts:
            return Expansion(gaps=(Gap(None, "an include has neither system, concepts nor value set"),))
        result = parts[0]
        for part in parts[1:]:
            result = _intersect(result, part, system)
        return result

    def _system_part(self, system: str, concepts: list[dict] | None, filters: list[dict] | None) -> Expansion:
        if concepts:
            codes = [c["code"] for c in concepts]
            if self._defs.code_system(system) is None and self._defs.value_set(system)[0] is not None:
                why = f"matched on code alone: the value set uses the value set canonical {system} as a system (source defect)"
                return Expansion(code_only={c: why for c in codes})
            return Expansion(pairs=frozenset((system, c) for c in codes))
        hierarchy = self._hierarchy(system)
        if isinstance(hierarchy, Gap):
            return Expansion(gaps=(hierarchy,))
        selected = hierarchy.codes
        for flt in filters or []:
            chosen = hierarchy.select(flt)
            if isinstance(chosen, str):
                return Expansion(gaps=(Gap(system, chosen),))
            selected &= chosen
        return Expansion(pairs=frozenset((system, c) for c in selected))

    def _hierarchy(self, system: str) -> _Hierarchy | Gap:
        if system not in self._hierarchies:
            cs = self._defs.code_system(system)
            if cs is None:
                self._hierarchies[system] = Gap(system, f"CodeSystem {system} is not available offline")
            elif cs.get("content") != "complete":
                self._hierarchies[system] = Gap(system, f"CodeSystem {system} has content '{cs.get('content')}', not complete")
            else:
                self._hierarchies[system] = _Hierarchy(cs)
        return self._hierarchies[system]
