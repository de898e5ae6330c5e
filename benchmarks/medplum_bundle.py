"""Export the ROR profiles with generated snapshots as a Bundle Medplum can index.

Why: Medplum's validateResource checks a custom profile only from its snapshot, and the 0.7.0
package ships differentials; ror-harness generates the snapshots (harness/fhir/snapshot.py), so
both validators judge against the very same element lists. The extension and datatype profiles
the ROR profiles use are exported too (Medplum indexes them; its synchronous validator reads only
the profile's own snapshot).

Two adaptations to what Medplum 4.5.2's snapshot parser can read, applied to the exported copies
only (docs/agreement.md explains both):
- an extension slice that names its extension profile but has no `url` child gets one, fixed to the
  profile's canonical, because Medplum discriminates `url` slices only by the slice's own children
  (it never opens the extension's StructureDefinition while validating);
- elements under a slice that are themselves slices (slicing nested in a slice, e.g. the parts of
  a complex extension slice) are left out, because Medplum's parser keeps a single slicing context
  and would count them as slices of the outer element.
"""
from __future__ import annotations

import copy

from pathlib import Path

import orjson

from harness.fhir.packages import PackageError, PackageSet

CORE_PREFIX = "http://hl7.org/fhir/StructureDefinition/"


def ror_profiles(packages: PackageSet) -> list[str]:
    """The resource profiles of the root IG (the ROR profiles)."""
    return sorted(e["url"] for e in packages.root.index
                  if e.get("resourceType") == "StructureDefinition" and e.get("kind") == "resource"
                  and e.get("derivation") == "constraint")


def _used_profiles(sd: dict) -> set[str]:
    """Type profiles named by a snapshot (extensions, datatype profiles), core types excluded."""
    used = set()
    for el in sd["snapshot"]["element"]:
        for t in el.get("type", ()):
            for url in t.get("profile", ()):
                base = url.partition("|")[0]
                if not (base.startswith(CORE_PREFIX) and base[len(CORE_PREFIX):] == t["code"]):
                    used.add(base)
    return used


def for_medplum(sd: dict) -> dict:
    """A copy of the snapshot SD adapted to Medplum's parser (see the module docstring)."""
    elements = sd["snapshot"]["element"]
    ids = {e.get("id") for e in elements}
    out = []
    for el in elements:
        eid = el.get("id", "")
        if eid.count(":") >= 2:  # nested inside a slice and itself sliced: unreadable for Medplum
            continue
        out.append(el)
        types = el.get("type") or ()
        if (el.get("sliceName") and len(types) == 1 and types[0].get("code") == "Extension"
                and len(types[0].get("profile") or ()) == 1 and f"{eid}.url" not in ids):
            out.append({"id": f"{eid}.url", "path": f"{el['path']}.url", "min": 1, "max": "1",
                        "base": {"path": "Extension.url", "min": 1, "max": "1"},
                        "type": [{"code": "http://hl7.org/fhirpath/System.String",
                                  "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type",
                                                 "valueUrl": "uri"}]}],
                        "fixedUri": types[0]["profile"][0].partition("|")[0]})
    adapted = copy.copy(sd)
    adapted["snapshot"] = {"element": out}
    return adapted


def snapshot_bundle(packages: PackageSet) -> tuple[dict, list[str]]:
    """(Bundle of snapshot SDs, urls that could not be generated): the ROR profiles and their closure."""
    todo, done, failed, entries = list(ror_profiles(packages)), set(), [], []
    while todo:
        url = todo.pop()
        if url in done:
            continue
        done.add(url)
        try:
            sd = packages.structure_definition(url)
        except PackageError:
            failed.append(url)
            continue
        entries.append({"fullUrl": url, "resource": for_medplum(sd)})
        todo.extend(_used_profiles(sd) - done)
    entries.sort(key=lambda e: e["fullUrl"])
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}, sorted(failed)


def write_snapshot_bundle(packages: PackageSet, path: Path) -> list[str]:
    """Write the Bundle to `path`; return the profiles left out (no snapshot could be generated)."""
    bundle, failed = snapshot_bundle(packages)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(bundle))
    return failed
