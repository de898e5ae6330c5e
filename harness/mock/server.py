"""The mock: the reference server (same engine, same dataset, same OAuth2 token endpoint)
behind the recorder, running in a background thread, over HTTPS as the national API.

Two transports, because the ROR has two kinds of access: OAuth2 alone (access profile 0) and
OAuth2 with a client certificate (profiles 1-4, mutual TLS). `MockServers` starts the first on
demand and the second only when a scenario asks for it, on a copy of the first one's database
(the dataset is generated and loaded once). Both share one throw-away PKI, so the consumer trusts
one CA and holds one client certificate for the whole run.
"""
from __future__ import annotations

import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.mock.recorder import Recorder
from harness.pytest_plugin.embedded_pki import EmbeddedPki, make_pki
from harness.redaction import register_secret
from harness.refserver.config import DEFAULT_CLIENTS, SecurityConfig, ServerConfig
from harness.refserver.runner import RunningServer, run_in_thread

PLAIN, MUTUAL = "tls", "mtls"


@dataclass(frozen=True)
class Credentials:
    """What a consumer needs to reach the mock: the OAuth2 client and the TLS files (None: plain HTTP)."""

    client_id: str
    client_secret: str
    ca_bundle: str | None
    client_cert: str | None
    client_key: str | None


def _copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a database in use (WAL mode: copying the file could miss pages)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


class MockServer:
    """One recording mock ROR on loopback (see MockServers for the pair a run uses)."""

    def __init__(self, config: ServerConfig) -> None:
        recorders: list[Recorder] = []

        def record(app: object) -> Recorder:
            recorders.append(Recorder(app))
            return recorders[0]

        self._running: RunningServer = run_in_thread(config, wrap=record)
        self.recorder = recorders[0]
        self.config = self._running.config

    @property
    def base_url(self) -> str:
        return self._running.base_url

    @property
    def token_url(self) -> str:
        return self._running.token_url

    def stop(self) -> None:
        self._running.stop()


class MockServers:
    """The mocks of one run: HTTPS (`tls`), and HTTPS with a required client certificate
    (`mtls`), each started on first use; plain HTTP for both when `cryptography` is missing
    (a scenario that needs mutual TLS is then skipped, saying why). `stop()` removes everything."""

    def __init__(self, dataset: str = "small", seed: int = 0, tls: bool = True) -> None:
        self.dataset, self.seed = dataset, seed
        self._folder = Path(tempfile.mkdtemp(prefix="ror-harness-mock-"))
        self._servers: dict[str, MockServer] = {}
        self._pki: EmbeddedPki | None = None
        if tls:
            try:
                self._pki = make_pki(self._folder)
            except ImportError:
                self._pki = None
        client = DEFAULT_CLIENTS[0]
        pki = self._pki
        self.credentials = Credentials(client.client_id, client.secret or "", str(pki.ca_cert) if pki else None,
                                       str(pki.client_cert) if pki else None, str(pki.client_key) if pki else None)
        register_secret(self.credentials.client_secret)  # blanked in every exchange the run records

    @property
    def mutual_tls_available(self) -> bool:
        return self._pki is not None

    def get(self, transport: str = PLAIN) -> MockServer:
        if transport not in self._servers:
            self._servers[transport] = self._start(transport)
        return self._servers[transport]

    def _start(self, transport: str) -> MockServer:
        db = self._folder / f"ror-{transport}.db"
        loaded = next((s.config.db for s in self._servers.values()), None)
        if loaded is not None:  # served as it is: no second generation and load
            _copy_database(loaded, db)
        pki = self._pki
        security = SecurityConfig() if pki is None else SecurityConfig(
            tls_cert=pki.server_cert, tls_key=pki.server_key,
            client_ca=pki.ca_cert if transport == MUTUAL else None, require_client_cert=transport == MUTUAL)
        try:
            return MockServer(ServerConfig(db=db, dataset=self.dataset, seed=self.seed, security=security))
        except RuntimeError:
            if not self._servers:
                shutil.rmtree(self._folder, ignore_errors=True)
            raise

    def stop(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()
        shutil.rmtree(self._folder, ignore_errors=True)
