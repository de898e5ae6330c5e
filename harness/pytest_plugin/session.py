"""What one process of a run shares between scenarios: the target, its client, its
CapabilityStatement, the validator and the search parameter definitions.

Everything heavy is built on first use, so that a run of three scenarios does not load the
IG packages unless one of them validates or judges a search.
"""
from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

from harness.checks.context import Fetched, RefusedUrl, Response
from harness.checks.search_params import SearchParameters
from harness.fhir.validation import Validator
from harness.http import TargetClient
from harness.scenario.target import TargetProfile


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(parts.scheme)


class RunContext:
    """One target for one process; `close()` it at the end of the run."""

    def __init__(self, profile: TargetProfile, ig: str | None = None) -> None:
        self.profile = profile
        self.ig = ig
        self.client = TargetClient(profile.settings)
        self._other_clients: dict[tuple[str, bool], TargetClient] = {}
        self._validator: Validator | None = None
        self._search_parameters: SearchParameters | None = None
        self._capability: tuple[dict | None, str | None] | None = None

    @property
    def base_url(self) -> str:
        return self.profile.settings.base_url

    @property
    def facts(self) -> dict:
        return self.profile.facts

    def close(self) -> None:
        self.client.close()
        for client in self._other_clients.values():
            client.close()

    def client_for(self, auth: str = "default", client_cert: bool = True) -> TargetClient:
        """The client a step's request goes through: the profile's other credentials (auth:
        profile0 / read_only) or a connection without the TLS client certificate get their own
        client (own token cache, own connections); everything else goes through the main one."""
        other = auth if auth in self.profile.other_auth else None
        if other is None and (client_cert or not self.profile.settings.client_cert):
            return self.client
        key = (other or "default", client_cert)
        if key not in self._other_clients:
            settings = self.profile.settings
            if other is not None:
                settings = dataclasses.replace(settings, oauth2=self.profile.other_auth[other])
            if not client_cert:  # the token comes from the client with the certificate (see execute)
                settings = dataclasses.replace(settings, client_cert=None, client_key=None, client_key_password=None,
                                               oauth2=None)
            self._other_clients[key] = TargetClient(settings)
        return self._other_clients[key]

    def validator(self) -> Validator:
        if self._validator is None:
            self._validator = Validator(self.ig)
        return self._validator

    def search_parameters(self) -> SearchParameters:
        if self._search_parameters is None:
            self._search_parameters = SearchParameters(self.validator().packages)
        return self._search_parameters

    def same_origin(self, url: str) -> bool:
        return origin(url) == origin(self.base_url)

    def fetch(self, url: str, step: str = "", yaml_line: int = 0) -> Fetched:
        """GET on the target only: a link to another origin is never followed (RefusedUrl)."""
        if not self.same_origin(url):
            raise RefusedUrl(f"le lien {url} sort de la cible ({self.base_url}) : le banc ne le suit pas")
        result = self.client.send("GET", url, step=step, yaml_line=yaml_line)
        return Fetched(result.exchanges, Response.of(result), result.error)

    def capability(self) -> tuple[dict | None, str | None]:
        """The target's CapabilityStatement (read once), or why it could not be read (French)."""
        if self._capability is None:
            result = self.client.send("GET", "metadata", step="CapabilityStatement (prérequis)")
            body = result.json
            if result.status != 200:
                self._capability = (None, f"GET /metadata répond {result.status or result.error}")
            elif not isinstance(body, dict) or body.get("resourceType") != "CapabilityStatement":
                self._capability = (None, "GET /metadata ne renvoie pas un CapabilityStatement")
            else:
                self._capability = (body, None)
        return self._capability


class StepServices:
    """The run's services as one step's checks see them: follow-up requests recorded under the step."""

    def __init__(self, run: RunContext, step: str, yaml_line: int) -> None:
        self.run = run
        self.step = step
        self.yaml_line = yaml_line

    def validator(self) -> Validator:
        return self.run.validator()

    def search_parameters(self) -> SearchParameters:
        return self.run.search_parameters()

    def fetch(self, url: str) -> Fetched:
        return self.run.fetch(url, self.step, self.yaml_line)
