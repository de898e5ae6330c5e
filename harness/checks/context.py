"""What a check receives (the step's exchange and the harness's services) and what it returns.

Checks never send requests themselves except through `Services.fetch` (the paging walk), so
that every exchange is recorded, redacted and reported with the step it belongs to.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from harness.outcomes import Exchange

if TYPE_CHECKING:
    from harness.checks.search_params import SearchParameters
    from harness.fhir.validation import Validator
    from harness.http import HttpResult


@dataclass(frozen=True)
class Finding:
    """A check that did not hold (or could not be judged: `inconclusive`)."""

    check: str  # kind, or kind.sub-check (e.g. "search.paging")
    expected: str
    actual: str
    message_fr: str
    issues: tuple[dict, ...] = ()
    inconclusive: bool = False  # the harness could not judge: never a mark on the candidate


class NotJson(Exception):
    """The body is not the JSON a check needs (the message is French, for the report)."""


class Response:
    """A response as checks read it: status, headers by any case, body text and its JSON.

    Built from the HTTP client's real answer (not the redacted record), so a check judges what
    the target really sent.
    """

    def __init__(self, status: int, headers: Mapping[str, str], text: str | None, json: Any = None,
                 json_error: str | None = None, truncated: bool = False) -> None:
        self.status = status
        self.truncated = truncated  # the body was cut at the client's size limit: judge what is there only
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.text = text
        self._json = json
        self._json_error = json_error

    @classmethod
    def of(cls, result: HttpResult) -> Response | None:
        if result.status is None:
            return None
        return cls(result.status, result.headers, result.text, result.json, result.json_error, result.truncated)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The parsed body; NotJson (French message) when there is none."""
        if self._json_error is not None:
            raise NotJson(f"le corps de la réponse n'est pas du JSON lisible ({self._json_error})")
        return self._json

    def resource(self) -> dict:
        """The body as a FHIR resource (a JSON object with resourceType), else NotJson."""
        body = self.json()
        if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
            raise NotJson("le corps de la réponse n'est pas une ressource FHIR (objet JSON sans resourceType)")
        return body


@dataclass(frozen=True)
class Fetched:
    """A follow-up GET made for a check (a next page, a chained reference)."""

    exchanges: tuple[Exchange, ...]  # every hop, redacted
    response: Response | None
    error: str | None  # why there is no answer


class RefusedUrl(Exception):
    """A URL the harness will not fetch (another origin than the target's): French reason."""


class Services(Protocol):
    """What the harness lends to checks for one run (shared by all steps)."""

    def validator(self) -> Validator: ...

    def search_parameters(self) -> SearchParameters: ...

    def fetch(self, url: str) -> Fetched:
        """GET an absolute URL on the target; RefusedUrl for another origin."""
        ...


@dataclass
class StepContext:
    """One step's response and what the checks may use to judge it."""

    step: str
    line: int
    base_url: str
    method: str
    path: str  # as sent, relative to the base URL (no query string)
    query: list[tuple[str, str]]  # as sent, in order
    exchange: Exchange
    response: Response | None
    services: Services
    more_exchanges: list[Exchange] = field(default_factory=list)  # sent by checks (paging)
    transport_error: str | None = None  # why there is no response, when the engine lets a check judge that

    def body_or_finding(self, check: str) -> tuple[dict | None, list[Finding]]:
        """The FHIR resource in the body, or the finding that says why there is none."""
        if self.response is None:
            return None, [Finding(check, "une réponse", "aucune réponse", "la cible n'a pas répondu")]
        try:
            return self.response.resource(), []
        except NotJson as exc:
            return None, [Finding(check, "une ressource FHIR en JSON", _excerpt(self.response.text), str(exc))]


def _excerpt(text: str | None, limit: int = 200) -> str:
    if not text:
        return "(corps vide)"
    return text if len(text) <= limit else text[:limit] + "…"
