"""What the harness needs to know to talk to a candidate ROR server, in one immutable value.

Immutable so that one `ClientSettings` can be shared by every scenario of a run (and shown in
the report) without any scenario changing how the next one connects.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ROR_HEADER_NAMES = (
    "Ror-Profil-Utilisateur-Code",
    "Ror-Profil-Utilisateur-System",
    "Ror-Role-Metier-Code",
    "Ror-Role-Metier-System",
)


@dataclass(frozen=True)
class OAuth2Settings:
    """OAuth2 client credentials grant (RFC 6749 section 4.4): the ROR API's access control."""

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str = ""
    # How the client authenticates: "basic" (HTTP Basic, which RFC 6749 2.3.1 makes every server accept)
    # or "post" (client_id and client_secret in the form body).
    client_auth: str = "basic"

    def __post_init__(self) -> None:
        if self.client_auth not in ("basic", "post"):
            raise ValueError(f"client_auth must be 'basic' or 'post', got {self.client_auth!r}")


@dataclass(frozen=True)
class RorHeaders:
    """The four `Ror-*` headers that tell the ROR server who is asking (user profile and business role)."""

    profil_utilisateur_code: str = ""
    profil_utilisateur_system: str = ""
    role_metier_code: str = ""
    role_metier_system: str = ""

    def as_headers(self) -> list[tuple[str, str]]:
        values = (self.profil_utilisateur_code, self.profil_utilisateur_system,
                  self.role_metier_code, self.role_metier_system)
        return [(name, value) for name, value in zip(ROR_HEADER_NAMES, values) if value]


@dataclass(frozen=True)
class ClientSettings:
    """How to reach the target and how far to trust it.

    The limits exist because the target may be hostile or broken: every request ends by
    `total_timeout_s` whatever the server does, and no more than `max_body_bytes` are kept.
    """

    base_url: str
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0  # the longest silence tolerated between two bytes
    total_timeout_s: float = 60.0  # the whole exchange, redirects included
    max_body_bytes: int = 20 * 1024 * 1024
    max_redirects: int = 5
    verify_tls: bool = True
    ca_bundle: str | None = None  # PEM file of the CAs to trust instead of the system's
    client_cert: str | None = None  # PEM certificate for mutual TLS
    client_key: str | None = None  # PEM private key for mutual TLS (path only; the key never leaves the file)
    client_key_password: str | None = field(default=None, repr=False)
    proxy: str | None = None  # http://[user:password@]host:port
    oauth2: OAuth2Settings | None = None
    ror_headers: RorHeaders = RorHeaders()
    extra_headers: tuple[tuple[str, str], ...] = ()
    user_agent: str = "ror-harness"

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base URL must start with http:// or https://, got {self.base_url!r}")
        if self.client_key and not self.client_cert:
            raise ValueError("a client key needs its client certificate (client_cert)")
        for name in ("connect_timeout_s", "read_timeout_s", "total_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.max_body_bytes <= 0 or self.max_redirects < 0:
            raise ValueError("max_body_bytes must be positive and max_redirects not negative")
