"""Access control as the ROR national API does it: OAuth2 client credentials, bearer tokens,
the four `Ror-*` headers, and access profiles.

- `POST /token` (RFC 6749 §4.4): a secret client (profile 0 in the national API) authenticates
  with client_id + client_secret (form or HTTP Basic); a certificate client (profiles 1-4) with
  client_id + its TLS client certificate (RFC 8705), and its token is bound to that
  certificate (`cnf.x5t#S256`). Token errors are OAuth JSON errors (RFC 6749 §5.2), not
  OperationOutcomes: the token endpoint is not a FHIR endpoint.
- Tokens are JWTs (HS256) because the national API's sample clients read `exp` from them to
  renew before expiry.
- Every FHIR call needs `Authorization: Bearer` (401 + `WWW-Authenticate` otherwise) and the
  four `Ror-*` headers, except the capacity PATCH, which must NOT carry them
  (ROR-fhir-documentation, patch-capacitaire/location.md).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import orjson

from harness.refserver.config import Client, SecurityConfig
from harness.refserver.outcome import FhirError
from harness.refserver.transport import PeerCert

ROR_HEADERS = ("Ror-Profil-Utilisateur-Code", "Ror-Profil-Utilisateur-System",
               "Ror-Role-Metier-Code", "Ror-Role-Metier-System")
ISSUER = "ror-harness-refserver"
REALM = "ror-harness"


class OAuthError(Exception):
    """A token request refused, as RFC 6749 §5.2 words it."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True)
class Access:
    """Who is calling: the client, its access profile and the scopes of its token."""

    client_id: str
    profile: int
    scopes: frozenset[str]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _unauthorized(diagnostics: str, error: str | None = None) -> FhirError:
    challenge = f'Bearer realm="{REALM}"'
    if error:
        challenge += f', error="{error}", error_description="{diagnostics}"'
    return FhirError(401, "login", diagnostics, headers={"WWW-Authenticate": challenge})


class TokenService:
    """Issues and verifies the server's access tokens."""

    def __init__(self, config: SecurityConfig, *, accept_expired: bool = False,
                 check_binding: bool = True, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._key = config.token_key or secrets.token_bytes(32)
        self._clients = {c.client_id: c for c in config.clients}
        self._accept_expired = accept_expired
        self._check_binding = check_binding
        self._clock = clock

    # -- token endpoint --------------------------------------------------------------------
    def issue(self, form: Mapping[str, str], authorization: str | None, peer: PeerCert | None) -> dict:
        """The token response for a client_credentials request, or OAuthError."""
        if form.get("grant_type") != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type" if form.get("grant_type") else "invalid_request",
                             "grant_type must be client_credentials")
        client_id, secret = self._credentials(form, authorization)
        client = self._clients.get(client_id or "")
        if client is None:
            raise OAuthError(401, "invalid_client", "unknown client_id")
        bound: str | None = None
        if client.secret is not None:
            if secret is None or not hmac.compare_digest(secret.encode(), client.secret.encode()):
                raise OAuthError(401, "invalid_client", "wrong or missing client_secret")
        else:
            if peer is None or peer.subject_cn != client.certificate_cn:
                raise OAuthError(401, "invalid_client",
                                 "this client authenticates with its TLS client certificate (mTLS), "
                                 "and the connection presented none or another one")
            bound = peer.thumbprint
        scopes = self._granted_scopes(client, form.get("scope"))
        now = int(self._clock())
        claims: dict = {"iss": ISSUER, "sub": client.client_id, "client_id": client.client_id,
                        "iat": now, "exp": now + self.config.token_ttl_seconds, "jti": str(uuid.uuid4()),
                        "scope": " ".join(scopes), "ror_profile": client.profile}
        if bound:
            claims["cnf"] = {"x5t#S256": bound}
        return {"access_token": self._sign(claims), "token_type": "Bearer",
                "expires_in": self.config.token_ttl_seconds, "scope": " ".join(scopes)}

    @staticmethod
    def _credentials(form: Mapping[str, str], authorization: str | None) -> tuple[str | None, str | None]:
        if authorization and authorization[:6].lower() == "basic ":
            try:
                user, _, password = base64.b64decode(authorization[6:].strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise OAuthError(400, "invalid_request", "malformed HTTP Basic credentials") from None
            return user, password
        return form.get("client_id"), form.get("client_secret")

    @staticmethod
    def _granted_scopes(client: Client, asked: str | None) -> list[str]:
        if not asked:
            return list(client.scopes)
        wanted = asked.split()
        refused = [s for s in wanted if s not in client.scopes]
        if refused:
            raise OAuthError(400, "invalid_scope", f"scope(s) not granted to this client: {' '.join(refused)}")
        return wanted

    def _sign(self, claims: dict) -> str:
        head = _b64(orjson.dumps({"alg": "HS256", "typ": "JWT"}))
        body = _b64(orjson.dumps(claims))
        signature = hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64(signature)}"

    # -- API calls -------------------------------------------------------------------------
    def verify(self, authorization: str | None, peer: PeerCert | None) -> Access:
        """The caller's access from its bearer token, or FhirError 401 with WWW-Authenticate."""
        if not authorization:
            raise _unauthorized("an access token is required (Authorization: Bearer ..., see POST /token)")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("the Authorization header must be 'Bearer <access token>'", "invalid_request")
        claims = self._claims(token.strip())
        if claims is None:
            raise _unauthorized("the access token is not one this server issued", "invalid_token")
        if not self._accept_expired and claims.get("exp", 0) <= self._clock():
            raise _unauthorized("the access token has expired: ask POST /token for a new one", "invalid_token")
        bound = (claims.get("cnf") or {}).get("x5t#S256")
        if bound and self._check_binding and (peer is None or peer.thumbprint != bound):
            raise _unauthorized("this token is bound to a client certificate that this connection did "
                                "not present (RFC 8705)", "invalid_token")
        return Access(claims.get("client_id", "?"), int(claims.get("ror_profile", 0)),
                      frozenset(str(claims.get("scope", "")).split()))

    def _claims(self, token: str) -> dict | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        expected = hmac.new(self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(expected, _unb64(parts[2])):
                return None
            claims = orjson.loads(_unb64(parts[1]))
        except (binascii.Error, ValueError):
            return None
        return claims if isinstance(claims, dict) else None


def require_scope(access: Access, scope: str) -> None:
    """403 when the token lacks the scope an interaction needs (RFC 6750 insufficient_scope)."""
    if scope not in access.scopes:
        raise FhirError(403, "forbidden", f"the access token does not grant {scope}",
                        headers={"WWW-Authenticate": f'Bearer realm="{REALM}", error="insufficient_scope", '
                                                     f'scope="{scope}"'})


def check_ror_headers(headers: Mapping[str, str], *, capacity_patch: bool) -> None:
    """The four Ror-* headers: required on every FHIR call, forbidden on the capacity PATCH.

    `headers` must look names up case-insensitively (Starlette's Headers do). Missing headers
    are a 400 `required`: the national documentation says they "doivent être présents" without
    naming the status it answers (docs/refserver.md).
    """
    present = [h for h in ROR_HEADERS if (headers.get(h) or "").strip()]
    if capacity_patch:
        if present:
            raise FhirError(400, "invalid",
                            "le PATCH capacitaire ne doit pas porter les headers Ror-* (présents : "
                            f"{', '.join(present)}); only Authorization and Content-Type are expected")
        return
    missing = [h for h in ROR_HEADERS if h not in present]
    if missing:
        raise FhirError(400, "required", f"header(s) required on every ROR API call: {', '.join(missing)} "
                                         "(les 4 headers Ror-* doivent être présents)")


SENSITIVE_UNIT = "https://interop.esante.gouv.fr/ig/fhir/ror/StructureDefinition/ror-healthcareservice-sensitive-unit"


def is_sensitive(resource: dict) -> bool:
    """A HealthcareService flagged as a sensitive unit (hidden from access profile 0)."""
    return resource.get("resourceType") == "HealthcareService" and any(
        e.get("url") == SENSITIVE_UNIT and e.get("valueBoolean") is True for e in resource.get("extension", []))
