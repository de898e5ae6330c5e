"""Shared parts of the reference server HTTP tests: a loaded database, servers on loopback,
authenticated clients, and a test PKI (CA, server and client certificates) made with
`cryptography` for the TLS / mTLS tests.

Not a test module: imported by tests/test_refserver_http*.py.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import shutil
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness.fhir.packages import DEFAULT_IG, PackageSet
from harness.refserver.config import SecurityConfig, ServerConfig
from harness.refserver.loading import load_dataset
from harness.refserver.runner import RunningServer, run_in_thread
from harness.refserver.store import Store

ROR_HEADERS = {"Ror-Profil-Utilisateur-Code": "CU22", "Ror-Profil-Utilisateur-System": "1.2.250.1.213.1.6.1.66",
               "Ror-Role-Metier-Code": "AUTOMATE", "Ror-Role-Metier-System": "1.2.250.1.213.1.1.4.6"}
MAIN = ("ror-harness", "ror-harness-secret")
PUBLIC = ("ror-harness-public", "ror-harness-public-secret")


def build_database(folder: Path) -> Path:
    """The small generated dataset in a SQLite file, loaded once per test session."""
    db = folder / "seed.db"
    store = Store(db, PackageSet(DEFAULT_IG))
    try:
        load_dataset(store, "small", 0)
    finally:
        store.close()
    return db


def start(seed_db: Path, folder: Path, **overrides: object) -> RunningServer:
    """A server on a free loopback port, on its own copy of the seed database."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "ror.db"
    shutil.copyfile(seed_db, db)
    config = dataclasses.replace(ServerConfig(db=db, dataset=None), **overrides)
    return run_in_thread(config)


def token(base_url: str, client: tuple[str, str] = MAIN, **httpx_options: object) -> str:
    answer = httpx.post(f"{base_url}/token", data={"grant_type": "client_credentials", "client_id": client[0],
                                                   "client_secret": client[1]}, **httpx_options)
    answer.raise_for_status()
    return answer.json()["access_token"]


def client(server: RunningServer, who: tuple[str, str] = MAIN, *, ror_headers: bool = True,
           **httpx_options: object) -> httpx.Client:
    """An httpx client with a bearer token of `who` and (by default) the four Ror-* headers."""
    headers = {"Authorization": f"Bearer {token(server.base_url, who, **httpx_options)}"}
    if ror_headers:
        headers.update(ROR_HEADERS)
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=30, **httpx_options)


def outcome_codes(response: httpx.Response) -> list[str]:
    """The issue codes of an OperationOutcome response (asserts it is one)."""
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return [i["code"] for i in body["issue"]]


# -- test PKI ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path  # same common name, issued by another CA
    stranger_key: Path
    second_cert: Path  # issued by the CA to another client
    second_key: Path

    def security(self, **overrides: object) -> SecurityConfig:
        return SecurityConfig(**{"tls_cert": self.server_cert, "tls_key": self.server_key, "client_ca": self.ca,
                                 **overrides})


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(folder: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
    cert_path, key_path = folder / f"{stem}.pem", folder / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _issue(cn: str, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None, *, ca: bool = False,
           server: bool = False) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    issuer_name, issuer_key = issuer if issuer else (_name(cn), key)
    builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                                        critical=True)
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256()), key


def make_pki(folder: Path, client_cn: str = "vendor-mtls") -> Pki:
    folder.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = _issue("ror-harness test CA", None, ca=True)
    ca_path, _ = _write(folder, "ca", ca_cert, ca_key)
    issuer = (ca_cert.subject, ca_key)
    server_cert, server_key = _write(folder, "server", *_issue("localhost", issuer, server=True))
    client_cert, client_key = _write(folder, "client", *_issue(client_cn, issuer))
    other_cert, other_key = _issue("another CA", None, ca=True)
    stranger_cert, stranger_key = _write(folder, "stranger", *_issue(client_cn, (other_cert.subject, other_key)))
    second_cert, second_key = _write(folder, "second", *_issue("another-vendor", issuer))
    return Pki(ca_path, server_cert, server_key, client_cert, client_key, stranger_cert, stranger_key,
               second_cert, second_key)


@pytest.fixture(scope="session")
def seed_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The loaded seed database (import this fixture into a test module to use it)."""
    return build_database(tmp_path_factory.mktemp("refserver-seed"))


def first(api: httpx.Client, query: str) -> dict:
    """The first match of a search (fails the test when there is none)."""
    bundle = api.get(query).json()
    matches = [e["resource"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]
    assert matches, f"no match for {query}"
    return matches[0]
