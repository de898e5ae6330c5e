"""The mock: the reference server (same engine, same dataset, same OAuth2 token endpoint,
TLS / mTLS through its ServerConfig) behind the recorder, running in a background thread.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from harness.mock.recorder import Recorder
from harness.refserver.config import DEFAULT_CLIENTS, ServerConfig
from harness.refserver.runner import run_in_thread


class MockServer:
    """A recording mock ROR on loopback; `stop()` ends it and removes its database."""

    def __init__(self, config: ServerConfig | None = None, dataset: str = "small", seed: int = 0) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="ror-harness-mock-"))
        config = config or ServerConfig(db=self._folder / "ror.db", dataset=dataset, seed=seed)
        recorders: list[Recorder] = []

        def record(app: object) -> Recorder:
            recorders.append(Recorder(app))
            return recorders[0]

        try:
            self._running = run_in_thread(config, wrap=record)
        except RuntimeError:
            shutil.rmtree(self._folder, ignore_errors=True)
            raise
        self.recorder = recorders[0]
        self.config, self.state = self._running.config, self._running.state
        client = DEFAULT_CLIENTS[0]
        self.client_id, self.client_secret = client.client_id, client.secret or ""

    @property
    def base_url(self) -> str:
        return self._running.base_url

    @property
    def token_url(self) -> str:
        return self._running.token_url

    def stop(self) -> None:
        self._running.stop()
        shutil.rmtree(self._folder, ignore_errors=True)
