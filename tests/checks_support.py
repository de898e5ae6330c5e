"""Shared parts of the check tests: a step context around a canned response, and services that
serve canned pages instead of a network.

Not a test module: imported by tests/test_checks*.py.
"""
from __future__ import annotations

import json
from functools import cache
from typing import Any

from harness.checks.context import Fetched, RefusedUrl, Response, StepContext
from harness.checks.search_params import SearchParameters
from harness.fhir.packages import DEFAULT_IG, PackageSet
from harness.fhir.validation import Validator
from harness.outcomes import Exchange, RecordedRequest, RecordedResponse

BASE = "http://target.test/fhir"


def response(status: int = 200, body: Any = None, headers: dict[str, str] | None = None, text: str | None = None) -> Response:
    if text is None:
        text = json.dumps(body) if body is not None else ""
    try:
        parsed, error = json.loads(text), None
    except ValueError as exc:
        parsed, error = None, ("the body is empty" if not text else f"not JSON ({exc})")
    return Response(status, headers or {"Content-Type": "application/fhir+json"}, text, parsed, error)


def exchange(url: str, answer: Response | None) -> Exchange:
    recorded = None if answer is None else RecordedResponse(answer.status, dict(answer.headers), answer.text, 1.0)
    return Exchange("étape", 7, RecordedRequest("GET", url, {}), recorded, None if answer else "refused", f"curl '{url}'")


@cache
def search_parameters() -> SearchParameters:
    return SearchParameters(PackageSet(DEFAULT_IG))


@cache
def validator() -> Validator:
    return Validator()


class Pages:
    """Services whose fetch serves canned bodies by URL (a missing URL answers 404)."""

    def __init__(self, pages: dict[str, Any] | None = None) -> None:
        self.pages = pages or {}
        self.fetched: list[str] = []

    def validator(self) -> Validator:
        return validator()

    def search_parameters(self) -> SearchParameters:
        return search_parameters()

    def fetch(self, url: str) -> Fetched:
        if not url.startswith(BASE):
            raise RefusedUrl(f"le lien {url} sort de la cible")
        self.fetched.append(url)
        found = self.pages.get(url)
        answer = response(200, found) if found is not None else response(404, {"resourceType": "OperationOutcome"})
        return Fetched((exchange(url, answer),), answer, None)


def context(answer: Response | None, *, path: str = "/HealthcareService", query: list[tuple[str, str]] | None = None,
            services: Pages | None = None) -> StepContext:
    url = f"{BASE}{path}"
    return StepContext(step="étape", line=7, base_url=BASE, method="GET", path=path, query=query or [],
                       exchange=exchange(url, answer), response=answer, services=services or Pages())


def bundle(resources: list[dict], *, total: int | None = None, next_url: str | None = None,
           modes: list[str] | None = None) -> dict:
    """A searchset page; `modes` gives each entry's search.mode (default: match)."""
    entries = [{"fullUrl": f"{BASE}/{r['resourceType']}/{r['id']}", "resource": r,
                "search": {"mode": (modes or ["match"] * len(resources))[i]}} for i, r in enumerate(resources)]
    body: dict = {"resourceType": "Bundle", "type": "searchset", "link": [{"relation": "self", "url": f"{BASE}/x"}],
                  "entry": entries}
    if total is not None:
        body["total"] = total
    if next_url:
        body["link"].append({"relation": "next", "url": next_url})
    return body
