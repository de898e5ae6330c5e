"""The NOS value sets vendored in `fixtures/nos/`: find one by the canonical a profile binds.

Why a store of its own: the French national nomenclatures (JDV_*) are not in any FHIR package
the harness ships, and their published files carry defects (wrong `url`s, missing value sets)
that must be handled explicitly and visibly, never by silently passing a code. The manifest
gives url/version/sha256 for every file, so lookups need no file opened; a file is read and
checked against its sha256 only when a code is first checked against it.
"""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
from pathlib import Path

import orjson

from harness.fhir.packages import FIXTURES

NOS_DIR = FIXTURES / "nos"
_NOS = "https://mos.esante.gouv.fr/NOS/"

#: Canonical bound by the ROR profiles -> (vendored file, why the file's own `url` differs).
ALIASES: dict[str, tuple[str, str]] = {
    _NOS + "JDV_J237-RegionOM-ROR/FHIR/JDV-J237-RegionOM-ROR": (
        "ValueSet-JDV-J237-RegionOM-ROR.json.gz", "the NOS file's url has a '.tabs' typo"),
    _NOS + "JDV_J186-ProfessionRessource-ROR/FHIR/JDV-J186-ProfessionRessource-ROR": (
        "ValueSet-JDV-J186-ProfessionRessource-ROR.json.gz", "the NOS file's url says 'JDV_J18' and has a '.tabs' typo"),
    _NOS + "JDV_J202-ESPIC-ROR/FHIR/JDV-J202-ESPIC-ROR": (
        "ValueSet-JDV-J202-ESPIC-ROR.json.gz", "the NOS file's url says 'JDV_J20'"),
    _NOS + "JDV_J208-CiviliteExcercice-ROR/FHIR/JDV-J208-CiviliteExcercice-ROR": (
        "ValueSet-JDV-J208-CiviliteExercice-ROR.json.gz", "ROR 0.1.1 binds the misspelling 'CiviliteExcercice'"),
}

#: Canonicals bound by ROR that are deliberately not vendored -> why (a check is never a pass).
MISSING: dict[str, str] = {
    _NOS + "JDV_J124-Commune/FHIR/JDV-J124-Commune":
        "JDV_J124 (all French communes) is not vendored: absent from the IG-NOS source and too large",
    _NOS + "JDV_J230-CommuneOM-ROR/FHIR/JDV-J230-CommuneOM-ROR":
        "JDV_J230 (all communes incl. overseas) is not vendored: too large",
}


class NosFixtureError(Exception):
    """A vendored NOS file is unreadable or does not match its manifest checksum."""


@dataclasses.dataclass(frozen=True)
class NosEntry:
    """One manifest line, reached through its own url or through an alias."""

    file: str
    url: str  # the `url` written in the file
    version: str
    sha256: str
    source: str  # where the file was taken from (repository, commit)
    label: str  # provenance reported with every verdict this file decides: path and version
    alias_reason: str | None = None  # set when reached through ALIASES


class NosStore:
    """Index of `manifest.json`; loads and verifies files on demand (cached)."""

    def __init__(self, folder: Path = NOS_DIR) -> None:
        self.folder = folder
        self._by_url: dict[str, NosEntry] = {}
        self._loaded: dict[str, dict] = {}
        manifest = folder / "manifest.json"
        entries = orjson.loads(manifest.read_bytes())["valueSets"] if manifest.is_file() else []
        shown = "fixtures/nos" if folder.resolve() == NOS_DIR.resolve() else str(folder)
        by_file: dict[str, NosEntry] = {}
        for e in entries:
            version = e.get("version") or "?"
            entry = NosEntry(e["file"], e["url"], version, e["sha256"], e.get("source", "?"),
                             f"{shown}/{e['file']} (version {version})")
            by_file[entry.file] = entry
            self._by_url[entry.url] = entry
        for bound, (file, reason) in ALIASES.items():
            if file in by_file and bound not in self._by_url:
                target = by_file[file]
                self._by_url[bound] = dataclasses.replace(target, alias_reason=reason)

    def __len__(self) -> int:
        return len({e.file for e in self._by_url.values()})

    def entry(self, url: str) -> NosEntry | None:
        """The vendored file for this canonical (version suffix ignored), or None."""
        return self._by_url.get(url.partition("|")[0])

    @staticmethod
    def missing_reason(url: str) -> str | None:
        """Why a known NOS canonical is not available, or None when it is not a known gap."""
        return MISSING.get(url.partition("|")[0])

    def load(self, entry: NosEntry) -> dict:
        """The ValueSet of this entry, after checking the decompressed bytes against the manifest."""
        if entry.file not in self._loaded:
            try:
                data = gzip.decompress((self.folder / entry.file).read_bytes())
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                raise NosFixtureError(f"{entry.label}: unreadable: {exc}") from exc
            if hashlib.sha256(data).hexdigest() != entry.sha256:
                raise NosFixtureError(f"{entry.label}: content does not match the manifest sha256")
            self._loaded[entry.file] = orjson.loads(data)
        return self._loaded[entry.file]
