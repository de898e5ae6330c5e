"""FHIR NPM packages: open them (directory, .tgz, FHIR package cache), follow their
dependencies, and resolve canonical resources across the resulting set.

Why our own loader: the standard tooling (the HL7 Java validator, Firely's package manager)
cannot run here, and the harness needs only the read side: an index by canonical URL and
lazy parsing, so that loading the default set stays well under the 2 s budget.
"""
from __future__ import annotations

import json
import io
import os
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"
BUNDLED_PACKAGES = FIXTURES / "packages"
DEFAULT_IG = "ans.fhir.fr.ror#0.7.0"


class PackageError(Exception):
    """A package cannot be found, read or resolved: always a usage error, never a pass."""


def fhir_package_cache() -> Path:
    """The standard FHIR package cache (`~/.fhir/packages`), used by HL7 tooling."""
    return Path(os.environ.get("FHIR_PACKAGE_CACHE", Path.home() / ".fhir" / "packages"))


@dataclass
class FhirPackage:
    """One package, read lazily: the index is loaded at open, a resource when first asked."""

    root: Path  # the folder holding package.json, or the archive it was read from
    manifest: dict
    files: dict[str, bytes] | None = field(default=None, repr=False)  # an archive's members, read once
    index: list[dict] = field(default_factory=list)
    example_index: list[dict] = field(default_factory=list)
    _cache: dict[str, dict] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.manifest.get("name", "?")

    @property
    def version(self) -> str:
        return self.manifest.get("version", "?")

    @property
    def label(self) -> str:
        return f"{self.name}#{self.version}"

    @property
    def dependencies(self) -> dict[str, str]:
        return dict(self.manifest.get("dependencies") or {})

    def load(self, filename: str, example: bool = False) -> dict:
        """Parse one file of the package (cached)."""
        key = ("example/" if example else "") + filename
        if key not in self._cache:
            try:
                data = self.files[key] if self.files is not None else (self.root / key).read_bytes()
                self._cache[key] = orjson.loads(data)
            except (OSError, KeyError, orjson.JSONDecodeError) as exc:
                raise PackageError(f"{self.label}: cannot read {key}: {exc}") from exc
        return self._cache[key]

    def resources(self) -> Iterator[dict]:
        for entry in self.index:
            yield self.load(entry["filename"])

    def examples(self) -> Iterator[dict]:
        for entry in self.example_index:
            yield self.load(entry["filename"], example=True)


def _read_index(folder: Path) -> list[dict]:
    """Read `.index.json`, or build it when the package has none (hand-made folders)."""
    idx = folder / ".index.json"
    if idx.is_file():
        return orjson.loads(idx.read_bytes()).get("files", [])
    entries = []
    for f in sorted(folder.glob("*.json")):
        if f.name in ("package.json", ".index.json"):
            continue
        try:
            res = orjson.loads(f.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise PackageError(f"{f}: not JSON: {exc}") from exc
        entry = _index_entry(f.name, res)
        if entry:
            entries.append(entry)
    return entries


def _index_entry(filename: str, res: object) -> dict | None:
    """An `.index.json` row for a resource file (None: not a resource)."""
    if not isinstance(res, dict) or "resourceType" not in res:
        return None
    return {"filename": filename, "resourceType": res["resourceType"], "id": res.get("id"),
            **{k: res[k] for k in ("url", "version", "type", "kind", "derivation") if k in res}}


def open_folder(folder: Path) -> FhirPackage:
    """Open a package folder (the one with package.json, or its parent with `package/`)."""
    if (folder / "package" / "package.json").is_file():
        folder = folder / "package"
    manifest_path = folder / "package.json"
    if not manifest_path.is_file():
        raise PackageError(f"{folder}: not a FHIR package (no package.json)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise PackageError(f"{manifest_path}: unreadable package.json: {exc}") from exc
    examples = folder / "example"
    return FhirPackage(
        root=folder, manifest=manifest, index=_read_index(folder),
        example_index=_read_index(examples) if examples.is_dir() else [],
    )


def open_archive(path: Path) -> FhirPackage:
    """Read a package .tgz into memory (about 0.3 s for the whole FHIR core).

    Why not extract to a cache: writing the core's 3,500 files took 4 s on a first run, twice the
    load budget; one sequential read of the archive costs the same on every run, cold or warm.
    """
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(path.read_bytes()), mode="r:gz") as tar:
            for member in tar:
                if member.isfile() and member.name.startswith("package/"):
                    handle = tar.extractfile(member)
                    if handle is not None:
                        files[member.name.removeprefix("package/")] = handle.read()
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise PackageError(f"{path}: not a readable package archive: {exc}") from exc
    if "package.json" not in files:
        raise PackageError(f"{path}: not a FHIR package (no package/package.json)")
    try:
        manifest = json.loads(files["package.json"].decode("utf-8-sig"))
        index = orjson.loads(files[".index.json"]).get("files", []) if ".index.json" in files else None
        examples = (orjson.loads(files["example/.index.json"]).get("files", [])
                    if "example/.index.json" in files else [])
    except ValueError as exc:
        raise PackageError(f"{path}: unreadable package manifest or index: {exc}") from exc
    if index is None:
        index = [_index_entry(name, orjson.loads(data)) for name, data in sorted(files.items())
                 if "/" not in name and name.endswith(".json") and name != "package.json"]
        index = [e for e in index if e]
    return FhirPackage(root=path, manifest=manifest, files=files, index=index, example_index=examples)


def open_package(spec: str | Path) -> FhirPackage:
    """Open a package given as a folder, a .tgz, or `name#version` (bundled, then FHIR cache)."""
    path = Path(spec)
    if path.is_dir():
        return open_folder(path)
    if path.is_file():
        return open_archive(path)
    text = str(spec)
    if "#" not in text:
        raise PackageError(f"package '{text}': not a folder, a .tgz or name#version")
    name, version = text.split("#", 1)
    bundled = BUNDLED_PACKAGES / f"{name}-{version}.tgz"
    if bundled.is_file():
        return open_archive(bundled)
    cached = fhir_package_cache() / f"{name}#{version}"
    if cached.is_dir():
        return open_folder(cached)
    raise PackageError(f"package {text} not found (looked in {BUNDLED_PACKAGES} and {fhir_package_cache()})")


def ig_spec(value: str | None) -> str:
    """Normalise `--ig`: None -> default, `0.1.1` -> the bundled ROR IG of that version."""
    if not value:
        return DEFAULT_IG
    if value[0].isdigit() and "/" not in value and not value.endswith(".tgz"):
        return f"ans.fhir.fr.ror#{value}"
    return value


SnapshotGenerator = Callable[[dict, "PackageSet"], dict]


class PackageSet:
    """A root package and its dependency closure, with canonical resolution across them.

    Resolution order: the root package first, then dependencies breadth-first, so that an IG
    can override a definition of its dependencies (as the IG publisher does).
    """

    def __init__(self, root_spec: str | Path, *, extra: list[str | Path] = ()) -> None:
        self.packages: list[FhirPackage] = []
        self.missing: dict[str, str] = {}  # dependency -> why it is not loaded
        self._by_url: dict[str, list[tuple[FhirPackage, dict]]] = {}
        self._snapshots: dict[str, dict] = {}
        self._generating: set[str] = set()
        seen: set[str] = set()
        queue: list[str | Path] = [root_spec, *extra]
        while queue:
            spec = queue.pop(0)
            try:
                pkg = open_package(spec)
            except PackageError as exc:
                if spec in (root_spec, *extra):
                    raise
                self.missing[str(spec)] = str(exc)
                continue
            if pkg.label in seen:
                continue
            seen.add(pkg.label)
            self.packages.append(pkg)
            for entry in pkg.index:
                if "url" in entry:
                    self._by_url.setdefault(entry["url"], []).append((pkg, entry))
            queue.extend(f"{n}#{v}" for n, v in pkg.dependencies.items() if f"{n}#{v}" not in seen)

    @property
    def root(self) -> FhirPackage:
        return self.packages[0]

    def resolve(self, url: str, resource_type: str | None = None) -> dict | None:
        """The resource with this canonical URL (`url|version` accepted), or None."""
        if not url:
            return None
        base, _, version = url.partition("|")
        for pkg, entry in self._by_url.get(base, ()):
            if resource_type and entry.get("resourceType") != resource_type:
                continue
            if version and entry.get("version") not in (None, version) and pkg.name != "hl7.fhir.r4.core":
                continue
            return pkg.load(entry["filename"])
        return None

    def source_of(self, url: str) -> str | None:
        """`package#version/file` that defines this canonical: the provenance of a verdict."""
        for pkg, entry in self._by_url.get(url.partition("|")[0], ()):
            return f"{pkg.label}/{entry['filename']}"
        return None

    def all_of_type(self, resource_type: str) -> Iterator[dict]:
        for pkg in self.packages:
            for entry in pkg.index:
                if entry.get("resourceType") == resource_type:
                    yield pkg.load(entry["filename"])

    def structure_definition(self, url: str) -> dict:
        """The StructureDefinition with a snapshot: the package's own, else a generated one.

        A profile that can be neither found nor generated raises PackageError: the caller turns
        it into a clear error, never a silent pass.
        """
        base = url.partition("|")[0]
        if base in self._snapshots:
            return self._snapshots[base]
        sd = self.resolve(base, "StructureDefinition")
        if sd is None:
            raise PackageError(f"StructureDefinition {base} not found in {', '.join(p.label for p in self.packages)}")
        if not sd.get("snapshot", {}).get("element"):
            if base in self._generating:
                raise PackageError(f"StructureDefinition {base}: circular base/type dependency")
            from harness.fhir.snapshot import generate_snapshot  # late: only differential packages need it
            self._generating.add(base)
            try:
                sd = generate_snapshot(sd, self)
            finally:
                self._generating.discard(base)
        self._snapshots[base] = sd
        return sd
