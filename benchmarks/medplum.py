"""Run tools/medplum/validate.mjs (Medplum's validateResource) on corpus files.

Why a wrapper: the agreement check and the benchmark both need the same three steps: install the
pinned npm packages once (`npm ci`, from the lock file), export the ROR snapshots for Medplum,
and run the Node script on an NDJSON file.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import orjson

from benchmarks.medplum_bundle import write_snapshot_bundle
from harness.fhir.packages import PackageSet

REPO = Path(__file__).resolve().parent.parent
TOOL = REPO / "tools" / "medplum"
BUILD = REPO / "build" / "medplum"


class MedplumUnavailable(RuntimeError):
    """Node or the npm packages are missing: the comparison cannot run (never a silent pass)."""


def ensure_installed() -> None:
    """`npm ci` in tools/medplum when node_modules is absent (versions pinned by package-lock.json)."""
    if shutil.which("node") is None:
        raise MedplumUnavailable("node is not on PATH (Node >= 20.19 is needed for @medplum/core 4.5.2)")
    if (TOOL / "node_modules" / "@medplum" / "core").is_dir():
        return
    if shutil.which("npm") is None:
        raise MedplumUnavailable("npm is not on PATH: run `npm ci` in tools/medplum")
    subprocess.run(["npm", "ci", "--prefer-offline", "--no-audit", "--no-fund"], cwd=TOOL, check=True)


def profiles_bundle(packages: PackageSet) -> Path:
    """Export the ROR snapshots for Medplum (rewritten each run: they follow the generator)."""
    path = BUILD / "ror-snapshots.json"
    write_snapshot_bundle(packages, path)
    return path


def verdicts(corpus: Path, bundle: Path) -> dict[str, dict]:
    """Medplum's verdict per record id: {ok, issues, crashed?}."""
    ensure_installed()
    out = subprocess.run(["node", str(TOOL / "validate.mjs"), "--profiles", str(bundle), str(corpus)],
                         check=True, capture_output=True)
    return {v["id"]: v for v in map(orjson.loads, out.stdout.splitlines()) if v}


def bench(corpus: Path, bundle: Path, passes: int = 1, base_only: bool = False) -> dict:
    """Medplum's in-process timing of validateResource over the corpus (startup excluded);
    `base_only`: without the ROR profiles (FHIR R4 base definitions only)."""
    ensure_installed()
    cmd = ["node", str(TOOL / "validate.mjs"), "--profiles", str(bundle), "--bench", "--passes", str(passes)]
    out = subprocess.run(cmd + (["--base-only"] if base_only else []) + [str(corpus)], check=True, capture_output=True)
    return orjson.loads(out.stdout)
