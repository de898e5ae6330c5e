"""A hard end time for every exchange, enforced at the socket.

Per-operation timeouts (connect, read) do not bound a request: a server that sends one byte
every second never trips a 30 s read timeout and can hold a client forever. So every socket
operation below gets `min(its own timeout, time left before the deadline)`, and fails as soon
as the deadline has passed. The deadline is a context variable, set around one exchange by the
client, so one connection pool serves requests with different deadlines.

Name resolution is bounded too: `getaddrinfo` has no timeout of its own, so it runs in a
daemon thread that is abandoned (not waited for) when the deadline comes.
"""
from __future__ import annotations

import contextvars
import socket
import ssl
import threading
import time
import typing
from collections.abc import Iterator
from contextlib import contextmanager

import httpcore

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("ror_harness_deadline", default=None)


class DeadlineExceeded(httpcore.TimeoutException):
    """The whole exchange ran past its total deadline (whatever the per-operation timeouts said)."""


class ResolutionError(httpcore.ConnectError):
    """The target's host name has no address (DNS)."""


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def time_left() -> float | None:
    """Seconds before the current deadline (negative once passed), None outside any deadline."""
    end = _deadline.get()
    return None if end is None else end - time.monotonic()


def _bounded(timeout: float | None) -> float | None:
    """The timeout an operation may use now; raises once the deadline has passed."""
    left = time_left()
    if left is None:
        return timeout
    if left <= 0:
        raise DeadlineExceeded("total deadline exceeded")
    return left if timeout is None else min(timeout, left)


def _resolve(host: str, port: int, timeout: float | None) -> list[tuple[str, int]]:
    """Addresses of `host`, giving up after `timeout` seconds (the lookup thread is left to finish alone)."""
    box: dict[str, typing.Any] = {}

    def lookup() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            box["error"] = exc

    worker = threading.Thread(target=lookup, name=f"resolve {host}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise httpcore.ConnectTimeout(f"name resolution of {host} took longer than {timeout:.1f} s")
    if "error" in box:
        raise ResolutionError(str(box["error"]))
    return [(info[4][0], port) for info in box["infos"]]


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every read, write and TLS handshake respects the deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout)))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend with the deadline applied to resolution, connection and every byte."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: typing.Iterable[typing.Any] | None = None) -> httpcore.NetworkStream:
        last_error: Exception | None = None
        for address, address_port in _resolve(host, port, _bounded(timeout)):
            try:
                stream = self._inner.connect_tcp(address, address_port, _bounded(timeout), local_address,
                                                 socket_options)
            except httpcore.ConnectError as exc:  # try the next address, as socket.create_connection does
                last_error = exc
                continue
            return DeadlineStream(stream)
        raise last_error or httpcore.ConnectError(f"no address for {host}")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)
