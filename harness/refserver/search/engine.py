"""The search engine: `SearchEngine(store).search(type, params, base_url=...) -> SearchResult`.

It parses the parameters (query.py, filter.py), builds SQL (sql.py), orders and pages the
matches from a snapshot (paging.py), adds included resources (include.py) and the distances of
`near` / `near-insee-code` searches. Unknown parameters are not errors here: they are returned
in `ignored` so the HTTP layer applies the client's `Prefer: handling` (lenient: report them in
an OperationOutcome; strict: refuse the request). Bad values always raise SearchError.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from urllib.parse import quote

from harness.refserver.search import geo
from harness.refserver.search.conditions import AllOf, Condition
from harness.refserver.search.errors import SearchError
from harness.refserver.search.filter import FilterParser
from harness.refserver.search.include import Directive, Includer, parse_directive
from harness.refserver.search.index import table_of
from harness.refserver.search.paging import Snapshot, Snapshots, page_token, parse_token
from harness.refserver.search.query import QueryParser, UnknownParameter
from harness.refserver.search.registry import SearchParam
from harness.refserver.search.sql import SqlBuilder

DEFAULT_COUNT = 200   # RG_RECH_52: "Par défaut la recherche retourne 200 résultats maximum par page."
MAX_COUNT = 1000
#: Result-shaping parameters left to the HTTP layer (returned in `passthrough`).
PASSTHROUGH = frozenset({"_format", "_pretty", "_elements", "_summary", "_total", "_contained", "_containedType"})


@dataclass
class SearchResult:
    """One page of a search, ready to become a searchset Bundle."""

    resource_type: str
    total: int
    matches: list[dict]
    included: list[dict]
    offset: int
    count: int
    links: dict[str, str]
    ignored: list[tuple[str, str]] = field(default_factory=list)   # (parameter, reason)
    distances: dict[tuple[str, str], float] = field(default_factory=dict)  # (type, id) -> km
    passthrough: list[tuple[str, str]] = field(default_factory=list)
    next_token: str | None = None


@dataclass
class _Plan:
    conditions: list[Condition]
    sort: list[tuple[str, bool]]     # (parameter path, descending)
    count: int
    token: str | None
    directives: list[Directive]
    ignored: list[tuple[str, str]]
    passthrough: list[tuple[str, str]]
    summary_count: bool


class SearchEngine:
    """Searches one Store; thread-safe (each thread reads through its own connection)."""

    def __init__(self, store, *, snapshots: Snapshots | None = None) -> None:  # noqa: ANN001 (Store: no cycle)
        self.store = store
        self.registry = store.registry
        self.parser = QueryParser(self.registry)
        self.snapshots = snapshots or Snapshots()

    def search(self, resource_type: str, params: list[tuple[str, str]], *, base_url: str) -> SearchResult:
        if resource_type not in self.registry.resource_types:
            raise SearchError(f"{resource_type} is not a resource type served here", status=404,
                              code="not-supported")
        builder = SqlBuilder(self.store.indexer.pid, base_url, self.registry.resource_types)
        plan = self._plan(resource_type, params)
        conn = self.store.reader()
        conn.create_function("geo_km", 4, geo.distance_km, deterministic=True)
        key = json.dumps([(k, v) for k, v in params if k != "_page"])
        if plan.token:
            sid, offset = parse_token(plan.token)
            snap = self.snapshots.get(sid, key)
            rids = snap.rids
            for cond in plan.conditions:  # re-collect the near origins for the distances
                builder.build(cond, resource_type)
        else:
            offset = 0
            rids = self._match(conn, builder, resource_type, plan)
            sid = self.snapshots.add(Snapshot(key, rids, time.monotonic())) \
                if len(rids) > plan.count and not plan.summary_count else None
        count = 0 if plan.summary_count else plan.count
        page = rids[offset:offset + count]
        bodies = self.store.bodies(page)
        matches = [bodies[rid] for rid in page if rid in bodies]
        included: list[dict] = []
        if plan.directives and page:
            extra = Includer(conn, builder).run({rid: resource_type for rid in page}, plan.directives)
            inc_bodies = self.store.bodies(list(extra))
            included = [inc_bodies[rid] for rid in extra if rid in inc_bodies]
        next_token = page_token(sid, offset + count) if sid and count and offset + count < len(rids) else None
        links = self._links(base_url, resource_type, params, len(rids), offset, count, sid)
        return SearchResult(
            resource_type=resource_type, total=len(rids), matches=matches, included=included, offset=offset,
            count=count, links=links, ignored=plan.ignored, passthrough=plan.passthrough,
            distances=self._distances(conn, builder, matches + included), next_token=next_token)

    # -- planning ----------------------------------------------------------------------------
    def _plan(self, resource_type: str, params: list[tuple[str, str]]) -> _Plan:
        conditions: list[Condition] = []
        sort: list[tuple[str, bool]] = []
        directives: list[Directive] = []
        ignored: list[tuple[str, str]] = []
        passthrough: list[tuple[str, str]] = []
        count, token, summary_count = DEFAULT_COUNT, None, False
        for name, value in params:
            base = name.partition(":")[0]
            if base == "_count":
                count = _count(value)
            elif base == "_page":
                token = value
            elif base == "_sort":
                sort.extend(self._sort_keys(resource_type, value))
            elif base in ("_include", "_revinclude"):
                found = parse_directive(self.registry, name, value)
                if isinstance(found, str):
                    ignored.append((f"{name}={value}", found))
                else:
                    directives.append(found)
            elif base in PASSTHROUGH:
                passthrough.append((name, value))
                summary_count = summary_count or (base == "_summary" and value == "count")
            elif value == "":
                ignored.append((name, "empty value (FHIR: a parameter without a value is ignored)"))
            elif name == "_filter":
                conditions.append(FilterParser(resource_type, self._builder_for(resource_type)).parse(value))
            else:
                try:
                    conditions.append(self.parser.condition(resource_type, name, value))
                except UnknownParameter as exc:
                    ignored.append((name, exc.reason))
        return _Plan(conditions, sort, count, token, directives, ignored, passthrough, summary_count)

    def _builder_for(self, resource_type: str):  # noqa: ANN202 - the filter's callback
        def build(name: str, value: str) -> Condition:
            try:
                return self.parser.condition(resource_type, name, value)
            except UnknownParameter as exc:
                raise SearchError(f"_filter: {exc.reason}", parameter="_filter") from None
        return build

    def _sort_keys(self, resource_type: str, value: str) -> list[tuple[str, bool]]:
        keys = []
        for part in value.split(","):
            part = part.strip()
            if not part:
                raise SearchError("_sort: empty key", parameter="_sort")
            desc = part.startswith("-")
            path = part.lstrip("-")
            self._sort_param(resource_type, path)  # validates now, for a clear error
            keys.append((path, desc))
        return keys

    def _sort_param(self, resource_type: str, path: str) -> tuple[SearchParam | None, SearchParam]:
        """(reference param or None, sorted param) for `name` or `ref.name`."""
        head, dot, tail = path.partition(".")
        ref = None
        if dot:
            ref = self.registry.get(resource_type, head)
            if ref is None or ref.type != "reference" or len(ref.targets) != 1:
                raise SearchError(f"_sort: {head!r} is not a single-target reference of {resource_type}",
                                  parameter="_sort")
            resource_type, path = ref.targets[0], tail
        param = self.registry.get(resource_type, path)
        if param is None or param.type not in ("token", "string", "date", "number", "quantity", "reference", "uri"):
            raise SearchError(f"_sort: {path!r} is not a sortable parameter of {resource_type}", parameter="_sort")
        return ref, param

    # -- matching ----------------------------------------------------------------------------
    def _match(self, conn, builder: SqlBuilder, resource_type: str, plan: _Plan) -> list[int]:  # noqa: ANN001
        if plan.conditions:
            where, args = builder.build(AllOf(plan.conditions) if len(plan.conditions) > 1 else plan.conditions[0],
                                        resource_type)
            sql, args = f"SELECT r.rid FROM resources r WHERE r.rid IN ({where})", list(args)
        else:
            sql, args = "SELECT r.rid FROM resources r WHERE r.type=?", [resource_type]
        order = []
        for path, desc in plan.sort:
            expr, expr_args = self._sort_expr(builder, resource_type, path, desc)
            order.append(f"({expr}) IS NULL, ({expr}) {'DESC' if desc else 'ASC'}")
            args += expr_args + expr_args
        order.append("r.rid")
        return [rid for (rid,) in conn.execute(f"{sql} ORDER BY {', '.join(order)}", args)]

    def _sort_expr(self, builder: SqlBuilder, resource_type: str, path: str, desc: bool) -> tuple[str, list]:
        ref, param = self._sort_param(resource_type, path)
        table = table_of(param)
        agg = "MAX" if desc else "MIN"
        column = {"ix_token": "x.code", "ix_string": "x.norm", "ix_date": "x.hi" if desc else "x.lo",
                  "ix_number": "x.value", "ix_quantity": "x.value", "ix_uri": "x.uri",
                  "ix_reference": "x.ttype || '/' || x.tid"}[table]
        pid = builder.pid(param)
        if ref is None:
            return f"SELECT {agg}({column}) FROM {table} x WHERE x.rid=r.rid AND x.pid=?", [pid]
        return (f"SELECT {agg}({column}) FROM ix_reference ref JOIN resources t ON t.type=ref.ttype AND "
                f"t.id=ref.tid JOIN {table} x ON x.rid=t.rid AND x.pid=? WHERE ref.rid=r.rid AND ref.pid=?",
                [pid, builder.pid(ref)])

    # -- output ------------------------------------------------------------------------------
    def _distances(self, conn, builder: SqlBuilder, resources: list[dict]) -> dict[tuple[str, str], float]:  # noqa: ANN001
        if not builder.near:
            return {}
        near = builder.near[0]
        pid = builder.pid(near.param)
        out: dict[tuple[str, str], float] = {}
        for res in resources:
            if res.get("resourceType") != "Location":
                continue
            row = conn.execute("SELECT rid FROM resources WHERE type='Location' AND id=?", [res["id"]]).fetchone()
            if row is None:
                continue
            if near.param.name == "near-insee-code":
                points = [geo.commune_point(code) for (code,) in conn.execute(
                    "SELECT code FROM ix_token WHERE pid=? AND rid=?", [pid, row[0]])]
            else:
                points = list(conn.execute("SELECT lat, lon FROM ix_geo WHERE pid=? AND rid=?", [pid, row[0]]))
            dists = [geo.distance_km(near.lat, near.lon, p[0], p[1]) for p in points if p]
            if dists:
                out[("Location", res["id"])] = min(dists)
        return out

    @staticmethod
    def _links(base_url: str, resource_type: str, params: list[tuple[str, str]], total: int, offset: int,
               count: int, sid: str | None) -> dict[str, str]:
        kept = [(k, v) for k, v in params if k != "_page"]
        query = "&".join(f"{quote(k, safe=':._-')}={quote(v, safe=':/|,.-_')}" for k, v in kept)
        self_url = f"{base_url.rstrip('/')}/{resource_type}" + (f"?{query}" if query else "")
        links = {"self": self_url}
        if sid is None or count == 0:
            return links
        sep = "&" if query else "?"
        links["first"] = f"{self_url}{sep}_page={page_token(sid, 0)}"
        if offset + count < total:
            links["next"] = f"{self_url}{sep}_page={page_token(sid, offset + count)}"
        if offset > 0:
            links["previous"] = f"{self_url}{sep}_page={page_token(sid, max(0, offset - count))}"
        return links


def _count(value: str) -> int:
    if not value.isdigit():
        raise SearchError(f"_count: {value!r} is not a non-negative integer", parameter="_count")
    return min(int(value), MAX_COUNT)
