"""One HTTP/1.1 request on the wire, bounded in time and size, failures said in words.

Built on httpcore rather than httpx: the harness must control exactly what is sent (no header
added behind its back), plug the deadline into the sockets (httpcore's public network-backend
hook; httpx has none) and read redirects itself so that every hop is recorded.
"""
from __future__ import annotations

import ssl
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore

from harness.http.deadline import DeadlineBackend, DeadlineExceeded, ResolutionError, time_left
from harness.http.settings import ClientSettings


class TransportError(Exception):
    """No usable answer: `kind` for the engine (dns, refused, tls, timeout, deadline, ...), `message` for people."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: tuple[tuple[str, str], ...]  # as received, in order
    body: bytes  # after Content-Encoding, at most the size limit
    truncated: bool
    elapsed_ms: float
    notes: tuple[str, ...]


def build_ssl_context(settings: ClientSettings) -> ssl.SSLContext:
    """Server verification (system CAs or the given bundle) and, for mutual TLS, the client certificate."""
    context = ssl.create_default_context(cafile=settings.ca_bundle)
    if not settings.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if settings.client_cert:
        context.load_cert_chain(settings.client_cert, settings.client_key, settings.client_key_password)
    return context


def _proxy(settings: ClientSettings, context: ssl.SSLContext) -> httpcore.Proxy | None:
    if not settings.proxy:
        return None
    parts = urlsplit(settings.proxy)
    auth = (parts.username or "", parts.password or "") if parts.username else None
    bare = parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")).geturl()
    return httpcore.Proxy(bare, auth=auth, ssl_context=context)


_SIZE_NOTE = "the body was cut at {limit} bytes (the size limit)"


def _read_bounded(chunks: Iterable[bytes], coding: str, limit: int) -> tuple[bytes, bool, list[str]]:
    """Read at most `limit` bytes of body, decompressing gzip/deflate without ever inflating past the limit."""
    notes: list[str] = []
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32) if coding in ("gzip", "x-gzip", "deflate") else None
    if coding and coding != "identity" and inflater is None:
        notes.append(f"Content-Encoding {coding} is not decoded: the body is shown as received")
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        if inflater is not None:
            try:
                chunk = inflater.decompress(chunk, limit - size + 1)
            except zlib.error as exc:
                notes.append(f"the {coding} body cannot be decompressed ({exc})")
                return b"".join(parts), False, notes
        parts.append(chunk)
        size += len(chunk)
        if size > limit or (inflater is not None and inflater.unconsumed_tail):
            notes.append(_SIZE_NOTE.format(limit=limit))
            return b"".join(parts)[:limit], True, notes
    return b"".join(parts), False, notes


def _describe(exc: Exception, url: str, settings: ClientSettings) -> TransportError:
    """An httpcore failure as (kind, words a vendor understands)."""
    cause = exc.__cause__ or exc.__context__
    detail = str(cause or exc) or type(exc).__name__
    host = urlsplit(url).hostname or url
    if isinstance(exc, DeadlineExceeded):
        return TransportError("deadline", f"no complete answer within the total limit of {settings.total_timeout_s:g} "
                                          "s (the server stalled or sent its answer too slowly)")
    if isinstance(cause, ssl.SSLCertVerificationError):
        return TransportError("tls", f"TLS: the certificate of {host} is not trusted ({cause.verify_message})")
    if isinstance(cause, ssl.SSLError):
        return TransportError("tls", f"TLS handshake with {host} failed ({cause.reason or detail})")
    if isinstance(exc, httpcore.ConnectTimeout):
        return TransportError("timeout", f"no connection to {host} within {settings.connect_timeout_s:g} s ({detail})")
    if isinstance(exc, httpcore.ReadTimeout):
        return TransportError("timeout", f"{host} sent nothing for {settings.read_timeout_s:g} s")
    if isinstance(exc, httpcore.WriteTimeout):
        return TransportError("timeout", f"{host} did not accept the request body within {settings.read_timeout_s:g} s")
    if isinstance(exc, httpcore.ConnectError):
        if isinstance(cause, ConnectionRefusedError) or "refused" in detail.lower():
            return TransportError("refused", f"connection to {host} refused (nothing listens on that port?)")
        if isinstance(exc, ResolutionError):
            return TransportError("dns", f"the name {host} cannot be resolved (DNS): {detail}")
        return TransportError("connect", f"cannot connect to {host}: {detail}")
    if isinstance(exc, httpcore.RemoteProtocolError):
        return TransportError("protocol", f"{host} did not answer in valid HTTP/1.1: {detail}")
    if isinstance(exc, (httpcore.UnsupportedProtocol, httpcore.LocalProtocolError)):
        return TransportError("invalid_request", f"the request cannot be sent: {detail}")
    if isinstance(exc, httpcore.ReadError):
        return TransportError("connection_lost", f"the connection to {host} was lost while reading: {detail}")
    if isinstance(exc, httpcore.WriteError):
        return TransportError("connection_lost", f"the connection to {host} was lost while sending: {detail}")
    return TransportError("transport", f"{type(exc).__name__}: {detail}")


class Transport:
    """A connection pool to the target (and its token endpoint), with the settings' TLS, proxy and limits."""

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        context = build_ssl_context(settings)
        self._pool = httpcore.ConnectionPool(ssl_context=context, proxy=_proxy(settings, context),
                                             network_backend=DeadlineBackend(), retries=0)

    def close(self) -> None:
        self._pool.close()

    def request(self, method: str, url: str, headers: list[tuple[str, str]], body: bytes | None) -> RawResponse:
        """Send one request and read its answer before the caller's deadline (`with deadline(...)` around it)."""
        s = self.settings
        timeouts = {"connect": s.connect_timeout_s, "read": s.read_timeout_s, "write": s.read_timeout_s,
                    "pool": s.connect_timeout_s}
        started = time.monotonic()
        try:
            with self._pool.stream(method.encode("ascii"), url, headers=headers, content=body,
                                   extensions={"timeout": timeouts}) as response:
                received = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers)
                coding = next((v.strip().lower() for k, v in received if k.lower() == "content-encoding"), "")
                raw, truncated, notes = _read_bounded(response.iter_stream(), coding, s.max_body_bytes)
        except httpcore.TimeoutException as exc:
            # The deadline can surface as a plain read timeout (the socket was given the time left): say which.
            left = time_left()
            overdue = isinstance(exc, DeadlineExceeded) or (left is not None and left < 0.05)
            raise _describe(DeadlineExceeded() if overdue else exc, url, s) from exc
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
            raise _describe(exc, url, s) from exc
        return RawResponse(response.status, received, raw, truncated, (time.monotonic() - started) * 1000,
                           tuple(notes))
