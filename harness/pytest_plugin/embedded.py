"""The embedded reference server as a target: started on a free loopback port with a
generated dataset, with the credentials and the facts (sample data) that go with it.

Why the facts are computed here and not read from the server: they come from the same seeded
generator the server loaded, so the scenarios' variables name records the server holds.
"""
from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from functools import cache
from pathlib import Path

import yaml

from harness.dataset import generate
from harness.dataset.facts import collect_facts
from harness.http import ClientSettings, OAuth2Settings, RorHeaders
from harness.pytest_plugin.embedded_pki import EmbeddedPki, make_pki
from harness.refserver.config import DEFAULT_CLIENTS, SecurityConfig, ServerConfig
from harness.refserver.runner import RunningServer, run_in_thread
from harness.refserver.security import TokenService
from harness.scenario.target import TargetProfile

#: Values of the four Ror-* headers sent to the embedded server (it requires them present).
ROR_HEADERS = RorHeaders("CU22", "1.2.250.1.213.1.6.1.66", "AUTOMATE", "1.2.250.1.213.1.1.4.6")


@cache
def facts_of(dataset: str, seed: int) -> dict:
    """The facts of a generated dataset (computed once per process: the generator is seeded)."""
    return collect_facts(generate(dataset, seed))


def _security(folder: Path, tls: bool) -> tuple[SecurityConfig, EmbeddedPki | None]:
    """HTTPS with a required client certificate (as the national API) when `cryptography` is
    there to make the certificates; plain HTTP otherwise. A fixed token key per target, so that
    the target can hand out an expired token of its own (the profile's expired_token)."""
    key = secrets.token_bytes(32)
    if tls:
        try:
            pki = make_pki(folder)
        except ImportError:
            pki = None
        if pki is not None:
            return SecurityConfig(token_key=key, tls_cert=pki.server_cert, tls_key=pki.server_key,
                                  client_ca=pki.ca_cert, require_client_cert=True), pki
    return SecurityConfig(token_key=key), None


def _expired_token(security: SecurityConfig) -> str:
    """A token of the default client, signed by this server, that expired an hour ago."""
    client = DEFAULT_CLIENTS[0]
    past = TokenService(security, clock=lambda: time.time() - security.token_ttl_seconds - 3600)
    form = {"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": client.secret or ""}
    return past.issue(form, None, None)["access_token"]


class EmbeddedTarget:
    """A running reference server and the target profile that reaches it; `stop()` removes everything.

    The profile has everything the catalogue can ask of a target: the default client (access
    profile 1, read + write), the profile-0 read-only client (`auth_profile0`, `auth_read_only`),
    an expired token, and, with `tls` (default) and `cryptography` installed, HTTPS with a
    required client certificate.
    """

    def __init__(self, dataset: str = "small", seed: int = 0, faults: frozenset[str] = frozenset(),
                 tls: bool = True) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="ror-harness-embedded-"))
        try:
            security, pki = _security(self._folder, tls)
            self.server: RunningServer = run_in_thread(
                ServerConfig(db=self._folder / "ror.db", dataset=dataset, seed=seed, faults=faults, security=security))
        except BaseException:
            shutil.rmtree(self._folder, ignore_errors=True)
            raise
        default, public = DEFAULT_CLIENTS[0], DEFAULT_CLIENTS[1]
        token_url = self.server.token_url
        settings = ClientSettings(base_url=self.server.base_url,
                                  oauth2=OAuth2Settings(token_url, default.client_id, default.secret or ""),
                                  ror_headers=ROR_HEADERS,
                                  ca_bundle=str(pki.ca_cert) if pki else None,
                                  client_cert=str(pki.client_cert) if pki else None,
                                  client_key=str(pki.client_key) if pki else None)
        label = f"serveur de référence embarqué ({self.server.base_url}, jeu {dataset}, graine {seed}"
        label += f", défauts : {', '.join(sorted(faults))})" if faults else ")"
        public_auth = OAuth2Settings(token_url, public.client_id, public.secret or "")
        self.profile = TargetProfile(settings, facts_of(dataset, seed), label,
                                     other_auth={"profile0": public_auth, "read_only": public_auth},
                                     expired_token=_expired_token(security))

    def stop(self) -> None:
        self.server.stop()
        shutil.rmtree(self._folder, ignore_errors=True)

    def write_profile(self, path: Path) -> Path:
        """The target profile as a file (for pytest-xdist workers, and for a reader curious of the facts)."""
        s = self.profile.settings
        assert s.oauth2 is not None
        def auth(o: OAuth2Settings) -> dict:
            return {"token_url": o.token_url, "client_id": o.client_id, "client_secret": o.client_secret}

        data: dict = {"label": self.profile.label, "base_url": s.base_url, "auth": auth(s.oauth2)}
        data |= {f"auth_{name}": auth(o) for name, o in self.profile.other_auth.items()}
        if self.profile.expired_token:
            data["expired_token"] = self.profile.expired_token
        data["ror_headers"] = {"profil_utilisateur_code": s.ror_headers.profil_utilisateur_code,
                               "profil_utilisateur_system": s.ror_headers.profil_utilisateur_system,
                               "role_metier_code": s.ror_headers.role_metier_code,
                               "role_metier_system": s.ror_headers.role_metier_system}
        if s.client_cert:
            data["tls"] = {"ca_bundle": s.ca_bundle, "client_cert": s.client_cert, "client_key": s.client_key}
        data["facts"] = self.profile.facts
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path
