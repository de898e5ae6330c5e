"""Certificates made by the tests themselves: a CA, a server certificate for 127.0.0.1, a client certificate.

Real X.509 from `cryptography`, so the TLS and mutual-TLS tests exercise real handshakes.
"""
from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from harness.pytest_plugin.embedded_pki import issue_certificate


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path  # encrypted with `client_key_password`
    client_key_password: str

    def server_context(self, require_client_cert: bool = False) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.server_cert, self.server_key)
        if require_client_cert:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(self.ca_cert)
        return context


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey, password: str | None = None) -> None:
    encryption = (serialization.BestAvailableEncryption(password.encode()) if password
                  else serialization.NoEncryption())
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))


def make_pki(folder: Path, client_key_password: str = "key-password-for-tests-7f3a") -> Pki:
    ca_key, server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = issue_certificate("ror-harness test CA", ca_key, None, ca_key, ca=True)
    server = issue_certificate("127.0.0.1", server_key, ca.subject, ca_key, ca=False, usage=ExtendedKeyUsageOID.SERVER_AUTH)
    client = issue_certificate("ror-harness test client", client_key, ca.subject, ca_key, ca=False,
                    usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    paths = Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "client.pem",
                folder / "client.key", client_key_password)
    for path, cert in ((paths.ca_cert, ca), (paths.server_cert, server), (paths.client_cert, client)):
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(paths.server_key, server_key)
    _write_key(paths.client_key, client_key, client_key_password)
    return paths
