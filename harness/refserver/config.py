"""What one reference server instance is: its data, address, security and deliberate faults.

One frozen dataclass so that the CLI (`ror-harness serve`), the scenario engine
(`run_in_thread`) and the tests describe a server the same way, and so that a running server
cannot be reconfigured behind a scenario's back.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: Scopes a token can carry; reads and writes are checked separately (403 insufficient_scope).
SCOPE_READ = "system/*.read"
SCOPE_WRITE = "system/*.write"

#: The access profile that must never see sensitive units (ROR access policy, profile 0 =
#: public data only).
PUBLIC_PROFILE = 0


@dataclass(frozen=True)
class Client:
    """An OAuth2 client registered with the server's token endpoint.

    A client authenticates either with a secret (`client_secret`, as the national API's
    profile 0) or with a TLS client certificate whose subject common name is `certificate_cn`
    (RFC 8705, as profiles 1 to 4); tokens issued to a certificate client are bound to that
    certificate and refused on a connection that presents another one.
    """

    client_id: str
    secret: str | None = None
    certificate_cn: str | None = None
    profile: int = 1
    scopes: tuple[str, ...] = (SCOPE_READ, SCOPE_WRITE)

    def __post_init__(self) -> None:
        if (self.secret is None) == (self.certificate_cn is None):
            raise ValueError(f"client {self.client_id!r}: give exactly one of secret or certificate_cn")


#: The harness's default clients. The national API lets only profile 0 authenticate with a
#: secret; here a secret client with profile 1 exists as well, so that a plain-HTTP run on
#: loopback can read everything and write (documented in docs/refserver.md).
DEFAULT_CLIENTS = (
    Client("ror-harness", secret="ror-harness-secret", profile=1),
    Client("ror-harness-public", secret="ror-harness-public-secret", profile=PUBLIC_PROFILE,
           scopes=(SCOPE_READ,)),
)


@dataclass(frozen=True)
class SecurityConfig:
    """Authentication and transport security, as the ROR national API does it."""

    require_token: bool = True
    require_ror_headers: bool = True
    clients: tuple[Client, ...] = DEFAULT_CLIENTS
    token_ttl_seconds: int = 3600
    #: HMAC key of the issued JWTs; None: a random key per server start.
    token_key: bytes | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    client_ca: Path | None = None
    require_client_cert: bool = False

    def __post_init__(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("TLS needs both a certificate and its key")
        if (self.client_ca or self.require_client_cert) and self.tls_cert is None:
            raise ValueError("client certificates need TLS (a server certificate and key)")
        if self.require_client_cert and self.client_ca is None:
            raise ValueError("requiring client certificates needs the CA that issues them (client_ca)")
        ids = [c.client_id for c in self.clients]
        if len(ids) != len(set(ids)):
            raise ValueError("client ids must be unique")

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None


@dataclass(frozen=True)
class ServerConfig:
    """One reference server: where its data lives, what it loads, how it is reached.

    - db: the SQLite file; an existing non-empty database is served as it is (no reload), so a
      dataset loaded once can back many servers;
    - dataset: "small" / "medium" (generated), a path to an NDJSON file, or None (empty);
    - base_url: the public base URL written in links and Location headers; None: derived from
      the address the server listens on;
    - faults: names from harness.refserver.faults.FAULTS, each a deliberate deviation.
    """

    db: Path
    dataset: str | Path | None = "small"
    seed: int = 0
    host: str = "127.0.0.1"
    port: int = 0
    base_url: str | None = None
    faults: frozenset[str] = frozenset()
    security: SecurityConfig = field(default_factory=SecurityConfig)
    default_page_size: int = 200
    max_page_size: int = 1000
    max_body_bytes: int = 5 * 1024 * 1024
    #: Validate created/updated/patched resources against the ROR profiles (422 when invalid).
    validate_writes: bool = True
    #: Minimum duration of an export job in seconds, so that a client sees it in progress (202).
    export_min_seconds: float = 0.0
    #: Resources per NDJSON file of an export ("un fichier par tranche de résultats").
    export_file_size: int = 1000

    def __post_init__(self) -> None:
        from harness.refserver.faults import unknown_faults  # late: faults imports nothing from here

        bad = unknown_faults(self.faults)
        if bad:
            raise ValueError(f"unknown fault(s): {', '.join(sorted(bad))} (see `ror-harness serve --list-faults`)")
        if not 1 <= self.default_page_size <= self.max_page_size:
            raise ValueError("default_page_size must be between 1 and max_page_size")
