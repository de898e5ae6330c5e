"""Throw-away certificates for the embedded reference server: a CA, a server certificate for
127.0.0.1 and a client certificate, so that the embedded target runs as the national API does
(HTTPS with mutual TLS) and the mTLS scenario has something to test.

Why generated per run: nothing secret is committed, and the files die with the embedded target.
Needs `cryptography`; without it, `make_pki` raises ImportError and the embedded target falls
back to plain HTTP (the mTLS scenario is then skipped, saying why).
"""
from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

#: Subject CN of the embedded target's client certificate.
CLIENT_CN = "ror-harness-embedded-client"


@dataclass(frozen=True)
class EmbeddedPki:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def issue_certificate(subject: str, key, issuer, issuer_key, *, ca: bool, usage=None):
    """An X.509 certificate valid two days, signed by `issuer_key` (self-signed when `issuer` is
    None); a server certificate names localhost and 127.0.0.1. Shared with the tests' own PKI."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    subject_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject_name).issuer_name(issuer or subject_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if usage == ExtendedKeyUsageOID.SERVER_AUTH:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(folder: Path) -> EmbeddedPki:
    """Write the CA, server and client certificates (EC P-256, two days) under `folder`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    ca_key, server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = issue_certificate("ror-harness embedded CA", ca_key, None, ca_key, ca=True)
    server = issue_certificate("127.0.0.1", server_key, ca.subject, ca_key, ca=False, usage=ExtendedKeyUsageOID.SERVER_AUTH)
    client = issue_certificate(CLIENT_CN, client_key, ca.subject, ca_key, ca=False, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    pki = EmbeddedPki(folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "client.pem",
                      folder / "client.key")
    for path, cert in ((pki.ca_cert, ca), (pki.server_cert, server), (pki.client_cert, client)):
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    for path, key in ((pki.server_key, server_key), (pki.client_key, client_key)):
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        path.chmod(0o600)
    return pki
