"""The mock: the reference server (same engine, same dataset, same OAuth2 token endpoint,
TLS / mTLS through its ServerConfig) behind the recorder, running in a background thread.
"""
from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

from harness.mock.recorder import Recorder
from harness.refserver.app import create_app
from harness.refserver.config import DEFAULT_CLIENTS, ServerConfig
from harness.refserver.runner import START_TIMEOUT_SECONDS, prepare, uvicorn_config


class MockServer:
    """A recording mock ROR on loopback; `stop()` ends it and removes its database."""

    def __init__(self, config: ServerConfig | None = None, dataset: str = "small", seed: int = 0) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="ror-harness-mock-"))
        config = config or ServerConfig(db=self._folder / "ror.db", dataset=dataset, seed=seed)
        self.config, sock = prepare(config)
        app = create_app(self.config)
        self.state = app.state.server
        self.recorder = Recorder(app)
        self._server = uvicorn.Server(uvicorn_config(self.recorder, self.config, self.state))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, name="ror-mock", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the mock ROR server did not start")
            time.sleep(0.01)
        client = DEFAULT_CLIENTS[0]
        self.client_id, self.client_secret = client.client_id, client.secret or ""

    @property
    def base_url(self) -> str:
        assert self.config.base_url is not None
        return self.config.base_url

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self.state.close()
        shutil.rmtree(self._folder, ignore_errors=True)
