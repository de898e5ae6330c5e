"""The paging walk: follow `next` links from the first page, within a budget, never in circles.

Why a budget: a hostile or broken server can page forever (a `next` back to the first page,
ever-new links, huge pages); the walk stops at the first of pages / seconds / bytes and says
so. Running out of budget is not the candidate's fault (the answer may be large): checks
that need the whole result then become inconclusive, unless the pages already prove a fault.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from harness.checks.context import Finding, NotJson, RefusedUrl, Services
from harness.outcomes import Exchange

DEFAULT_BUDGET = {"pages": 20, "seconds": 60.0, "bytes": 50 * 1024 * 1024}


@dataclass
class Page:
    number: int  # 1-based
    url: str
    body: dict


@dataclass
class Walk:
    pages: list[Page]
    complete: bool = True  # False: stopped by the budget (see `stopped`)
    stopped: str = ""  # French: why the walk stopped early
    findings: list[Finding] = field(default_factory=list)


def next_link(bundle: dict) -> str | None:
    for link in bundle.get("link") or ():
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return link["url"]
    return None


def walk(first: dict, first_url: str, services: Services, budget: dict, record: list[Exchange]) -> Walk:
    """All pages from `first`; every request made is appended to `record`."""
    limits = {**DEFAULT_BUDGET, **budget}
    result = Walk([Page(1, first_url, first)])
    seen = {first_url}
    started = time.monotonic()
    spent = 0
    url = next_link(first)
    while url:
        if url in seen:
            result.findings.append(Finding(
                "search.paging", "une pagination qui se termine", f"page {len(result.pages)} -> {url}",
                f"le lien « next » de la page {len(result.pages)} ramène à une page déjà lue : la pagination ne finit jamais"))
            return result
        if len(result.pages) >= limits["pages"] or time.monotonic() - started > limits["seconds"] or spent > limits["bytes"]:
            result.complete = False
            result.stopped = (f"parcours arrêté après {len(result.pages)} page(s) (budget : {limits['pages']} pages, "
                              f"{limits['seconds']:g} s, {limits['bytes']} octets)")
            return result
        seen.add(url)
        number = len(result.pages) + 1
        try:
            fetched = services.fetch(url)
        except RefusedUrl as exc:
            result.findings.append(Finding("search.paging", "un lien next sur la cible", url, str(exc)))
            return result
        record.extend(fetched.exchanges)
        response = fetched.response
        if response is None:
            why = fetched.error or "aucune réponse"
            result.findings.append(Finding("search.paging", f"page {number} lisible", why,
                                           f"la page {number} (lien next) n'a pas répondu : {why}"))
            return result
        spent += len(response.text or "")
        if response.status != 200:
            result.findings.append(Finding("search.paging", f"page {number} : statut 200", str(response.status),
                                           f"la page {number} (lien next {url}) répond {response.status}"))
            return result
        try:
            body = response.resource()
        except NotJson as exc:
            result.findings.append(Finding("search.paging", f"page {number} : un Bundle", "illisible", f"page {number} : {exc}"))
            return result
        if body.get("resourceType") != "Bundle":
            result.findings.append(Finding("search.paging", f"page {number} : un Bundle", body["resourceType"],
                                           f"la page {number} n'est pas un Bundle mais un {body['resourceType']}"))
            return result
        result.pages.append(Page(number, url, body))
        url = next_link(body)
    return result
