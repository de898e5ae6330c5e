"""Real loopback servers for the HTTP client tests, well-behaved or hostile on purpose.

Each server is a thread accepting real TCP (optionally TLS) connections on 127.0.0.1; a
handler gets the parsed request and the raw socket, so it can answer properly, stall, trickle,
lie about sizes or send garbage. Every handler loop is bounded by `server.stop`, set when the
test leaves the `with` block, so no test leaves a thread spinning.
"""
from __future__ import annotations

import socket
import socketserver
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Request:
    method: str
    target: str  # the request target as sent (path?query, or an absolute URL through a proxy)
    headers: dict[str, str]  # lower-cased names
    body: bytes


@dataclass
class Loopback:
    """A running server: its base URL, the requests it saw, and the event that stops its handlers."""

    url: str
    requests: list[Request] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


Handler = Callable[[Request, socket.socket, Loopback], None]


def read_request(sock: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return Request(method, target, headers, rest[:length])


def respond(sock: socket.socket, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
            reason: str = "X") -> None:
    head = [f"HTTP/1.1 {status} {reason}"]
    all_headers = {"Content-Length": str(len(body)), **(headers or {})}
    head += [f"{k}: {v}" for k, v in all_headers.items()]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class serve:
    """`with serve(handler[, tls]) as server:` a loopback server for the duration of the block."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None, keep_alive: bool = True) -> None:
        self.handler, self.tls, self.keep_alive = handler, tls, keep_alive

    def __enter__(self) -> Loopback:
        outer = self

        class _Connection(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock: socket.socket = self.request
                sock.settimeout(10)
                try:
                    if outer.tls is not None:
                        sock = outer.tls.wrap_socket(sock, server_side=True)
                    while not outer.state.stop.is_set():
                        request = read_request(sock)
                        if request is None:
                            return
                        outer.state.requests.append(request)
                        outer.handler(request, sock, outer.state)
                        if not outer.keep_alive:
                            return
                except (OSError, ValueError):
                    return  # the client went away, or the TLS handshake failed: part of what is tested

        self._server = _Server(("127.0.0.1", 0), _Connection)
        scheme = "https" if self.tls else "http"
        self.state = Loopback(f"{scheme}://127.0.0.1:{self._server.server_address[1]}")
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self.state

    def __exit__(self, *exc_info: object) -> None:
        self.state.stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def json_handler(body: bytes = b'{"resourceType": "Bundle"}', status: int = 200,
                 content_type: str = "application/fhir+json") -> Handler:
    def handle(request: Request, sock: socket.socket, server: Loopback) -> None:
        respond(sock, status, body, {"Content-Type": content_type})
    return handle
