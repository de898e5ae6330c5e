"""Search over HTTP: the engine's SearchResult as a searchset Bundle, for one caller.

What this layer adds to the search engine (harness/refserver/search):
  - access profiles: profile 0 never sees sensitive units, neither as matches (excluded in the
    query, so `total` and paging stay right) nor as included resources;
  - the client's `Prefer: handling`: unknown or unapplied parameters are reported in an
    OperationOutcome entry (search.mode = outcome) or, under `handling=strict`, refused (400);
  - the page size of the ServerConfig (default and maximum `_count`);
  - the Bundle: `total`, links self / first / next / previous written from the client's own
    parameters (never from the server's internal ones), `search.mode` match / include, the
    location-distance extension of `near` / `near-insee-code` results (IG ST3-S6);
  - the search faults (faults.py), as rewrites of the query or of the Bundle.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote, urlsplit

from harness.fhir.fhirpath import NotEvaluable, default_engine
from harness.refserver.config import PUBLIC_PROFILE, ServerConfig
from harness.refserver.faults import ignored_params
from harness.refserver.outcome import FhirError, issue, operation_outcome
from harness.refserver.search import SearchEngine, SearchError, SearchResult
from harness.refserver.search.registry import SPECIAL as ENGINE_SPECIAL
from harness.refserver.security import Access, is_sensitive
from harness.refserver.store import Store, format_instant

DISTANCE = "http://hl7.org/fhir/StructureDefinition/location-distance"
#: Result-shaping parameters this server does not implement (reported as ignored, never silent).
NOT_IMPLEMENTED = {"_elements": "_elements is not implemented (draft in the IG: 'n'est pas implémenté')",
                   "_contained": "_contained is not implemented", "_containedType": "_containedType is not implemented"}
#: The number-prefix-inclusive fault: strict comparisons read as inclusive ones.
_INCLUSIVE = {"gt": "ge", "lt": "le"}
_DAY = re.compile(r"^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(\d{4}-\d{2}-\d{2})(.*)$")
#: Page size without _count under the `paging-default-size` fault (the IG says 200).
FAULT_DEFAULT_PAGE_SIZE = 50
#: Date prefixes rewritten by the boundary faults.
_INCLUDE_BOUNDARY = {"gt": "ge", "lt": "le"}
_EXCLUDE_BOUNDARY = {"ge": "gt", "le": "lt"}

Visible = Callable[[dict, Access], bool]


def _base(name: str) -> str:
    return name.partition(":")[0]


def _shift_day(value: str) -> str:
    """`ge2023-08-02` -> `ge2023-08-03` (the date-off-by-one fault), each comma value."""
    shifted = []
    for item in value.split(","):
        match = _DAY.match(item)
        if match:
            day = dt.date.fromisoformat(match.group(2)) + dt.timedelta(days=1)
            item = f"{match.group(1) or ''}{day.isoformat()}{match.group(3)}"
        shifted.append(item)
    return ",".join(shifted)


def _swap_prefix(value: str, swaps: dict[str, str]) -> str:
    """`gt2024-01-01` -> `ge2024-01-01` (the date boundary faults), each comma value."""
    return ",".join(swaps[item[:2]] + item[2:] if item[:2] in swaps else item for item in value.split(","))


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _url(base_url: str, resource_type: str, params: list[tuple[str, str]]) -> str:
    query = "&".join(f"{quote(k, safe=':._-')}={quote(v, safe=':/|,.-_')}" for k, v in params)
    return f"{base_url}/{resource_type}" + (f"?{query}" if query else "")


def _page_of(link: str | None) -> str | None:
    if not link:
        return None
    return dict(parse_qsl(urlsplit(link).query)).get("_page")


class Searcher:
    """Runs searches for HTTP callers (under the server's work lock)."""

    def __init__(self, store: Store, config: ServerConfig, visible: Visible, show: Callable[[dict], dict]) -> None:
        self.store = store
        self.engine = SearchEngine(store)
        self.registry = store.registry
        self.config = config
        self.faults = config.faults
        self._visible = visible
        self._show = show
        self._sensitive: set[str] | None = None

    def note_write(self, resource: dict) -> None:
        """Keep the set of sensitive units current after a write."""
        if self._sensitive is not None and resource.get("resourceType") == "HealthcareService":
            if is_sensitive(resource):
                self._sensitive.add(resource["id"])
            else:
                self._sensitive.discard(resource["id"])

    def supports(self, resource_type: str, name: str) -> bool:
        """Does a search parameter of the CapabilityStatement run here? (`_has` and `_filter` are
        the engine's own, not registry entries.)"""
        return name in ENGINE_SPECIAL or self.registry.get(resource_type, name) is not None

    # -- the query -------------------------------------------------------------------------
    def _param_type(self, resource_type: str, name: str) -> str | None:
        param = self.registry.get(resource_type, _base(name))
        return param.type if param else None

    def _leaf_type(self, resource_type: str, name: str) -> str | None:
        """The type of the last parameter of a (possibly chained) name: `location.nb-capacity` -> number."""
        *links, last = name.split(".")
        for link in links:
            ref_name, *mods = link.split(":")
            param = self.registry.get(resource_type, ref_name)
            types = [m for m in mods if m in self.registry.resource_types] or list(param.targets if param else ())
            if param is None or param.type != "reference" or len(types) != 1:
                return None
            resource_type = types[0]
        return self._param_type(resource_type, last)

    def _rewrite(self, resource_type: str, params: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The query the engine runs: page size, and the search faults."""
        faults = self.faults
        dropped = ignored_params(faults)
        out = []
        for name, value in params:
            base = _base(name)
            modifier = name.partition(":")[2]
            if base in dropped or base.partition(".")[0] in dropped:
                continue
            if base == "_count":
                if "paging-count-ignored" in faults:
                    continue
                if value.isdigit():
                    value = str(min(int(value), self.config.max_page_size))
            elif "token-param-ignored" in faults and base == "characteristic":
                continue
            elif "not-modifier-ignored" in faults and modifier == "not":
                continue
            elif "chain-ignored" in faults and "." in base and not name.startswith("_"):
                continue
            elif "includes-missing" in faults and base in ("_include", "_revinclude"):
                continue
            elif "include-iterate-ignored" in faults and base in ("_include", "_revinclude") and modifier == "iterate":
                continue
            elif "chain-above-ignored" in faults and ":above." in name:
                name = name.replace(":above.", ".")
            elif "date-off-by-one" in faults and self._param_type(resource_type, name) == "date":
                value = _shift_day(value)
            elif "date-gt-includes-boundary" in faults and self._param_type(resource_type, name) == "date":
                value = _swap_prefix(value, _INCLUDE_BOUNDARY)
            elif "date-ge-excludes-boundary" in faults and self._param_type(resource_type, name) == "date":
                value = _swap_prefix(value, _EXCLUDE_BOUNDARY)
            elif "string-exact-only" in faults and not modifier and self._param_type(resource_type, name) == "string":
                name = f"{name}:exact"
            elif "exact-modifier-ignored" in faults and modifier == "exact":
                name = base
            elif "number-prefix-inclusive" in faults and self._leaf_type(resource_type, name) in ("number", "quantity"):
                value = ",".join(_INCLUSIVE.get(v[:2], v[:2]) + v[2:] for v in value.split(","))
            out.append((name, value))
        if not any(_base(k) == "_count" for k, _ in out):
            size = self.config.default_page_size
            if "paging-default-size" in faults:
                size = min(size, FAULT_DEFAULT_PAGE_SIZE)
            out.append(("_count", str(size)))
        return out

    def _hidden(self, resource_type: str, access: Access) -> list[str]:
        """Ids this caller must not match (sensitive units for profile 0)."""
        if resource_type != "HealthcareService" or access.profile != PUBLIC_PROFILE \
                or "profile0-sees-sensitive" in self.faults:
            return []
        if self._sensitive is None:
            self._sensitive = {r["id"] for r in self.store.iter_type("HealthcareService") if is_sensitive(r)}
        return sorted(self._sensitive)

    def _run(self, resource_type: str, params: list[tuple[str, str]], base_url: str) -> SearchResult:
        try:
            return self.engine.search(resource_type, params, base_url=base_url)
        except SearchError as exc:
            where = [exc.parameter] if exc.parameter else None
            raise FhirError(exc.status, exc.code, exc.diagnostics, expression=where) from None

    def ids(self, resource_type: str, params: list[tuple[str, str]]) -> set[str]:
        """Every id matching a query (all pages): conditional PATCH, $export _typeFilter."""
        query = [(k, v) for k, v in params if _base(k) not in ("_count", "_page")] + [("_count", "1000")]
        result = self._run(resource_type, query, "")
        found = {r["id"] for r in result.matches}
        while result.next_token:
            result = self._run(resource_type, query + [("_page", result.next_token)], "")
            found.update(r["id"] for r in result.matches)
        return found

    # -- the search ------------------------------------------------------------------------
    def search(self, resource_type: str, params: list[tuple[str, str]], access: Access, base_url: str,
               strict: bool) -> dict:
        """The searchset Bundle of one page for this caller."""
        query = self._rewrite(resource_type, params)
        hidden = self._hidden(resource_type, access)
        if hidden:
            query.append(("_id:not", ",".join(hidden)))
        result = self._run(resource_type, query, base_url)
        ignored = list(result.ignored)
        for name, value in result.passthrough:
            if _base(name) in NOT_IMPLEMENTED:
                ignored.append((name, NOT_IMPLEMENTED[_base(name)]))
            elif _base(name) == "_summary" and value != "count":
                ignored.append((name, "_summary other than count is not implemented"))
        if "unknown-param-silent" in self.faults:
            ignored = []
        elif ignored and strict:
            details = [issue("error", "not-supported", f"{name}: {why}", [name]) for name, why in ignored]
            raise FhirError(400, "not-supported", "Prefer: handling=strict and the search has parameters this "
                                                  "server cannot apply", issues=details)
        matches = result.matches
        if "no-match-404" in self.faults and result.total == 0:
            raise FhirError(404, "not-found", f"no {resource_type} matches this search")
        if "string-case-sensitive" in self.faults:
            matches = [m for m in matches if self._case_sensitive_match(resource_type, params, m)]
        included = [r for r in result.included if self._visible(r, access)]
        return self._bundle(result, resource_type, params, matches, included, ignored, base_url)

    def _case_sensitive_match(self, resource_type: str, params: list[tuple[str, str]], resource: dict) -> bool:
        for name, value in params:
            param = self.registry.get(resource_type, name)
            if param is None or param.type != "string" or not param.expression:
                continue
            try:
                found = list(_strings(default_engine().evaluate(param.expression, resource)))
            except NotEvaluable:
                continue
            if not any(text.startswith(v) for v in value.split(",") for text in found):
                return False
        return True

    # -- the Bundle ------------------------------------------------------------------------
    def _links(self, result: SearchResult, resource_type: str, params: list[tuple[str, str]],
               base_url: str) -> list[dict]:
        client = [(k, v) for k, v in params if k != "_page"]
        asked = next((v for k, v in params if k == "_page"), None)
        links = [] if "bundle-no-self-link" in self.faults else [
            {"relation": "self", "url": _url(base_url, resource_type, client + ([("_page", asked)] if asked else []))}]
        pages = {rel: _page_of(result.links.get(rel)) for rel in ("first", "previous", "next")}
        if "paging-broken-next" in self.faults and pages["next"]:
            pages["next"] = "expired-" + pages["next"]
        if "paging-duplicates" in self.faults and pages["next"]:
            sid, _, offset = pages["next"].rpartition("-")
            pages["next"] = f"{sid}-{int(offset) - 1}"
        if "paging-skips" in self.faults and pages["next"]:
            sid, _, offset = pages["next"].rpartition("-")
            pages["next"] = f"{sid}-{int(offset) + 1}"
        if "paging-previous-wrong" in self.faults and pages["previous"]:
            pages["previous"] = asked
        if "paging-cyclic-next" in self.faults and pages["first"] and not pages["next"]:
            pages["next"] = pages["first"]
        for rel in ("first", "previous", "next"):
            if pages[rel]:
                links.append({"relation": rel, "url": _url(base_url, resource_type, client + [("_page", pages[rel])])})
        return links

    def _entry(self, resource: dict, mode: str, base_url: str, result: SearchResult) -> dict:
        entry: dict = {"fullUrl": f"{base_url}/{resource['resourceType']}/{resource['id']}",
                       "resource": self._show(resource), "search": {"mode": mode}}
        if "entry-no-fullurl" in self.faults:
            del entry["fullUrl"]
        distance = result.distances.get((resource["resourceType"], resource["id"]))
        if distance is not None and "near-distance-missing" not in self.faults:
            entry["search"]["extension"] = [{"url": DISTANCE, "valueDistance": {
                "value": round(distance, 3), "unit": "km", "system": "http://unitsofmeasure.org", "code": "km"}}]
        return entry

    def _bundle(self, result: SearchResult, resource_type: str, params: list[tuple[str, str]],
                matches: list[dict], included: list[dict], ignored: list[tuple[str, str]], base_url: str) -> dict:
        faults = self.faults
        bundle: dict = {"resourceType": "Bundle", "id": str(uuid.uuid4()),
                        "meta": {"lastUpdated": format_instant(datetime.now(timezone.utc))},
                        "type": "collection" if "bundle-type-collection" in faults else "searchset"}
        if "bundle-no-total" not in faults:
            bundle["total"] = result.total + (1 if "paging-wrong-total" in faults else 0) + (
                len(included) if "total-counts-includes" in faults else 0)
        bundle["link"] = self._links(result, resource_type, params, base_url)
        include_mode = "match" if "include-as-match" in faults else "include"
        entries = [self._entry(m, "match", base_url, result) for m in matches]
        entries += [self._entry(r, include_mode, base_url, result) for r in included]
        if ignored:
            outcome = operation_outcome([issue("warning", "not-supported", f"{name}: {why} (ignored)", [name])
                                         for name, why in ignored])
            entries.append({"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": outcome,
                            "search": {"mode": "outcome"}})
        if entries:
            bundle["entry"] = entries
        return bundle
