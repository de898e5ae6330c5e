"""Terminology for the validator: is (system, code) in this ValueSet, and who says so?

Why a facade: the validator asks one question per coded value under a binding, for thousands
of resources. This module answers it offline from the vendored NOS value sets and the FHIR
packages, expanding each value set once per process; it says `not-checked` (with the reason)
when the offline material cannot decide, and only then asks the optional terminology server,
whose failures are `inconclusive` - an infrastructure problem, never an error of the resource.
Every verdict names its source (fixture file or package file, with version, or the server URL).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.fhir.nos_fixtures import NOS_DIR, NosFixtureError, NosStore
from harness.fhir.packages import PackageSet
from harness.fhir.vs_expansion import Expander

if TYPE_CHECKING:
    from harness.fhir.tx_client import TxClient

MEMBER, NOT_MEMBER, NOT_CHECKED, INCONCLUSIVE = "member", "not-member", "not-checked", "inconclusive"


@dataclass(frozen=True)
class CodeVerdict:
    """The answer for one coded value: the validator turns it into an issue (or none)."""

    status: str  # member | not-member | not-checked | inconclusive
    source: str | None  # what decided: fixture/package file and version, or the server URL
    message: str  # English, short: why (always set unless a plain member)


@dataclass(frozen=True)
class _Located:
    """Where a value set canonical was found, or why it was not."""

    resource: dict | None
    source: str | None
    reason: str = ""  # why unavailable
    note: str = ""  # a source defect worked around (alias)
    version: str | None = None


class Terminology:
    """Offline value set membership, with an optional terminology server as fallback."""

    def __init__(self, packages: PackageSet, nos_dir: Path = NOS_DIR, tx_url: str | None = None,
                 tx_timeout: float = 5.0) -> None:
        self.packages = packages
        self.nos = NosStore(nos_dir)
        self.tx_url = tx_url
        self._tx: TxClient | None = None
        if tx_url:
            from harness.fhir.tx_client import TxClient  # late: httpx costs 50 ms to import offline
            self._tx = TxClient(tx_url, tx_timeout)
        self._expander = Expander(self)
        self._located: dict[str, _Located] = {}
        self._verdicts: dict[tuple[str, str | None, str], CodeVerdict] = {}

    def close(self) -> None:
        if self._tx:
            self._tx.close()

    def __enter__(self) -> Terminology:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- questions of the validator ---------------------------------------------------------

    def check(self, valueset: str, system: str | None, code: str) -> CodeVerdict:
        """Is `code` of `system` (None for a bare `code` element) in `valueset` (`url|version` ok)?"""
        key = (valueset, system, code)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._decide(valueset, system, code)
            if verdict.status != INCONCLUSIVE:
                self._verdicts[key] = verdict
        return verdict

    def describe(self, valueset: str) -> str | None:
        """The source string of a value set (file and version), None when it is not available."""
        return self._locate(valueset).source

    def unavailable(self, valueset: str) -> str | None:
        """Why no code at all can be checked offline against this value set, else None.

        Cheap after the first call: lets the validator report a binding once instead of per code.
        A value set only partly expandable (e.g. one import missing) is available: its codes
        outside the missing part are decided, the others come back not-checked.
        """
        expansion = self._expander.expand(valueset)
        if expansion.empty_and_open:
            return "; ".join(dict.fromkeys(g.reason for g in expansion.gaps))
        return None

    # -- Definitions for the expander ------------------------------------------------------

    def value_set(self, url: str) -> tuple[dict | None, str]:
        located = self._locate(url)
        return located.resource, located.reason

    def code_system(self, url: str) -> dict | None:
        return self.packages.resolve(url, "CodeSystem")

    # -- internals -------------------------------------------------------------------------

    def _decide(self, valueset: str, system: str | None, code: str) -> CodeVerdict:
        base, _, version = valueset.partition("|")
        located = self._locate(base)
        member, why = self._expander.expand(base).lookup(system, code)
        notes = [n for n in (why, located.note) if n]
        if version and located.version and version != located.version:
            notes.append(f"bound version {version}, checked against version {located.version}")
        if member is None:
            return self._ask_server(valueset, system, code, located, "; ".join(notes))
        if member:
            return CodeVerdict(MEMBER, located.source, "; ".join(["in the value set", *notes]))
        head = f"code '{code}'" + (f" of system {system}" if system else "") + " is not in the value set"
        return CodeVerdict(NOT_MEMBER, located.source, "; ".join([head, *notes]))

    def _ask_server(self, valueset: str, system: str | None, code: str, located: _Located,
                    why: str) -> CodeVerdict:
        if self._tx is None:
            return CodeVerdict(NOT_CHECKED, located.source, why)
        answer = self._tx.validate_code(valueset, system, code)
        if answer.result is None:
            return CodeVerdict(INCONCLUSIVE, self.tx_url, f"{answer.message} (offline: {why})")
        status = MEMBER if answer.result else NOT_MEMBER
        said = f"; server says: {answer.message}" if answer.message else ""
        return CodeVerdict(status, self.tx_url, f"decided by the terminology server (offline: {why}){said}")

    def _locate(self, url: str) -> _Located:
        base = url.partition("|")[0]
        if base not in self._located:
            self._located[base] = self._find(base)
        return self._located[base]

    def _find(self, base: str) -> _Located:
        """NOS fixtures first (they hold the national value sets), then the package set."""
        entry = self.nos.entry(base)
        if entry is not None:
            note = f"bound URL read from {entry.file}: {entry.alias_reason}" if entry.alias_reason else ""
            try:
                return _Located(self.nos.load(entry), entry.label, note=note, version=entry.version)
            except NosFixtureError as exc:
                return _Located(None, None, reason=str(exc))
        missing = self.nos.missing_reason(base)
        if missing:
            return _Located(None, None, reason=missing)
        vs = self.packages.resolve(base, "ValueSet")
        if vs is not None:
            version = vs.get("version")
            return _Located(vs, f"{self.packages.source_of(base)} ({version or 'no version'})", version=version)
        labels = ", ".join(p.label for p in self.packages.packages)
        reason = f"value set {base} is not available offline (not in fixtures/nos nor in {labels})"
        if self.packages.missing:
            reason += f"; missing packages: {', '.join(self.packages.missing)}"
        return _Located(None, None, reason=reason)
