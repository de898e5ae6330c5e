"""TLS client certificates seen by uvicorn, made readable by the app (mTLS, RFC 8705).

uvicorn does not put the peer certificate in the ASGI scope. The national API authenticates
profiles 1-4 by their client certificate and binds their tokens to it, so the app must know
which certificate each connection presented: a protocol subclass records it when the TLS
connection is made, keyed by the client address that uvicorn also puts in `scope["client"]`.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import socket
import threading
from dataclasses import dataclass

from uvicorn.protocols.http.h11_impl import H11Protocol


@dataclass(frozen=True)
class PeerCert:
    """The certificate a client presented on one TLS connection (verified by the server's CA)."""

    der: bytes
    subject_cn: str | None

    @property
    def thumbprint(self) -> str:
        """`x5t#S256`: base64url SHA-256 of the DER certificate, as RFC 8705 binds tokens."""
        return base64.urlsafe_b64encode(hashlib.sha256(self.der).digest()).rstrip(b"=").decode()


def _common_name(decoded: dict) -> str | None:
    for rdn in decoded.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return None


class PeerCertificates:
    """Client certificates by client address (host, port) for the connections now open."""

    def __init__(self) -> None:
        self._by_client: dict[tuple, PeerCert] = {}
        self._lock = threading.Lock()

    def record(self, client: tuple, cert: PeerCert) -> None:
        with self._lock:
            self._by_client[client] = cert

    def forget(self, client: tuple) -> None:
        with self._lock:
            self._by_client.pop(client, None)

    def get(self, client: tuple | list | None) -> PeerCert | None:
        if not client:
            return None
        with self._lock:
            return self._by_client.get(tuple(client))


def protocol_class(registry: PeerCertificates) -> type[H11Protocol]:
    """An h11 protocol for uvicorn that records each TLS connection's client certificate (and
    turns Nagle's algorithm off)."""

    class CertificateRecordingProtocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            raw = transport.get_extra_info("socket")
            if raw is not None and raw.family in (socket.AF_INET, socket.AF_INET6):
                # accepted sockets come without TCP_NODELAY here: each response (head, then body)
                # then waited for the client's delayed ACK, 40 ms per request on loopback
                raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().connection_made(transport)
            ssl_object = transport.get_extra_info("ssl_object")
            if ssl_object is None or not self.client:
                return
            der = ssl_object.getpeercert(binary_form=True)
            if der:
                registry.record(tuple(self.client), PeerCert(der, _common_name(ssl_object.getpeercert() or {})))

        def connection_lost(self, exc: Exception | None) -> None:
            if self.client:
                registry.forget(tuple(self.client))
            super().connection_lost(exc)

    return CertificateRecordingProtocol
