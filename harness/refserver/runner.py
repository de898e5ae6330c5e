"""Serving the app with uvicorn: in the foreground (`ror-harness serve`) or in a thread
(`run_in_thread`, what the scenario engine and the tests use).

The socket is bound before uvicorn starts, so that port 0 (a free port) gives a known base URL
that the app writes into links and Location headers. TLS and the client-certificate policy are
uvicorn's ssl options: CERT_REQUIRED when client certificates are required (mTLS), CERT_OPTIONAL
when a client CA is given (certificate clients may authenticate at /token), none otherwise.
"""
from __future__ import annotations

import dataclasses
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn

from harness.refserver.app import create_app
from harness.refserver.config import ServerConfig
from harness.refserver.state import ServerState
from harness.refserver.transport import protocol_class

START_TIMEOUT_SECONDS = 60.0


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def prepare(config: ServerConfig) -> tuple[ServerConfig, socket.socket]:
    """Bind the socket and fix the base URL to the address really bound."""
    sock = bind(config.host, config.port)
    if config.base_url is None:
        scheme = "https" if config.security.tls else "http"
        port = sock.getsockname()[1]
        config = dataclasses.replace(config, base_url=f"{scheme}://{_url_host(config.host)}:{port}", port=port)
    return config, sock


def uvicorn_config(app: Any, config: ServerConfig, state: ServerState, *, log_level: str = "warning") -> uvicorn.Config:
    security = config.security
    options: dict[str, Any] = {}
    if security.tls:
        options = {"ssl_certfile": str(security.tls_cert), "ssl_keyfile": str(security.tls_key)}
        ignore_cert = "ignore-client-cert" in config.faults
        if security.client_ca and not ignore_cert:
            options["ssl_ca_certs"] = str(security.client_ca)
            options["ssl_cert_reqs"] = ssl.CERT_REQUIRED if security.require_client_cert else ssl.CERT_OPTIONAL
    return uvicorn.Config(app, http=protocol_class(state.peers), lifespan="off", log_level=log_level,
                          access_log=False, server_header=False, **options)


@dataclass
class RunningServer:
    """A server running in a background thread; `stop()` ends it and closes its store."""

    base_url: str
    config: ServerConfig
    state: ServerState
    _server: uvicorn.Server
    _thread: threading.Thread

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self.state.close()


def run_in_thread(config: ServerConfig, *, wrap: Callable[[Any], Any] | None = None) -> RunningServer:
    """Start a server on a free loopback port (unless config names one) and wait until it listens.

    `wrap` puts an ASGI middleware in front of the app (the consumer mode's recorder).
    """
    config, sock = prepare(config)
    app = create_app(config)
    state: ServerState = app.state.server
    served = wrap(app) if wrap is not None else app
    server = uvicorn.Server(uvicorn_config(served, config, state))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="ror-refserver", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            state.close()
            raise RuntimeError("the reference server did not start (see the log above)")
        time.sleep(0.01)
    assert config.base_url is not None
    return RunningServer(config.base_url, config, state, server, thread)


def serve(config: ServerConfig, *, on_ready: Any = None) -> None:
    """Serve in the foreground until interrupted (Ctrl-C)."""
    config, sock = prepare(config)
    app = create_app(config)
    state: ServerState = app.state.server
    if on_ready is not None:
        on_ready(config, state)
    try:
        uvicorn.Server(uvicorn_config(app, config, state, log_level="info")).run(sockets=[sock])
    finally:
        state.close()
