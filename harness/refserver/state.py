"""One running reference server's parts, wired once: store, search, security, writes, exports.

Concurrency: fhirpathpy keeps evaluation state in module globals and the search index is
written with FHIRPath, so every piece of request work runs under one lock (`work_lock`); the
export thread takes it only around searches. The store itself is safe across threads.
"""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

from harness.fhir.packages import DEFAULT_IG, PackageSet
from harness.fhir.terminology import MEMBER, Terminology
from harness.fhir.validation import Validator
from harness.refserver.capability import capability_statement
from harness.refserver.capacity import CapacityRules
from harness.refserver.config import PUBLIC_PROFILE, ServerConfig
from harness.refserver.export import ExportManager
from harness.refserver.jsonshape import JsonShape
from harness.refserver.loading import load_dataset
from harness.refserver.render import Renderer
from harness.refserver.searching import Searcher
from harness.refserver.security import Access, TokenService, is_sensitive
from harness.refserver.store import Store
from harness.refserver.transport import PeerCertificates
from harness.refserver.writes import Writer


class ServerState:
    """Everything a request handler needs, built from a ServerConfig."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.faults = config.faults
        self.work_lock = threading.Lock()
        self.packages = PackageSet(DEFAULT_IG)
        self.store = Store(config.db, self.packages)
        self.loaded = load_dataset(self.store, config.dataset, config.seed)
        terminology = Terminology(self.packages)
        shape = JsonShape(self.packages)
        capacity = CapacityRules(
            shape, lambda valueset, system, code: terminology.check(valueset, system, code).status == MEMBER,
            check_combinations="capacity-combination-unchecked" not in self.faults,
            replace_creates="patch-replace-creates" in self.faults)
        validating = config.validate_writes and "write-unvalidated" not in self.faults
        validator = Validator(packages=self.packages, terminology=terminology) if validating else None
        self.renderer = Renderer(self.faults)
        self.searcher = Searcher(self.store, config, self.visible, self.renderer.resource)
        self.writer = Writer(self.store, validator, capacity, shape,
                             honour_if_match="if-match-ignored" not in self.faults, on_stored=self.searcher.note_write)
        self.tokens = TokenService(config.security, accept_expired="accept-expired-token" in self.faults,
                                   check_binding="ignore-client-cert" not in self.faults)
        self.peers = PeerCertificates()
        self.exports = ExportManager(
            self.store, Path(f"{config.db}.export"), lock=self.work_lock, matcher=self.searcher.ids,
            visible=self.visible, file_size=config.export_file_size, min_seconds=config.export_min_seconds,
            faults=self.faults)
        self._capability: dict[str, dict] = {}

    def visible(self, resource: dict, access: Access) -> bool:
        """May this caller see this resource? Profile 0 never sees sensitive units."""
        if access.profile == PUBLIC_PROFILE and "profile0-sees-sensitive" not in self.faults:
            return not is_sensitive(resource)
        return True

    def capability(self, base_url: str) -> dict:
        found = self._capability.get(base_url)
        if found is None:
            found = capability_statement(self.packages, self.searcher.supports, base_url)
            if "capability-no-search-params" in self.faults:
                for resource in found["rest"][0]["resource"]:
                    resource.pop("searchParam", None)
            self._capability[base_url] = found
        return found

    def close(self) -> None:
        self.store.close()
        shutil.rmtree(Path(f"{self.config.db}.export"), ignore_errors=True)
