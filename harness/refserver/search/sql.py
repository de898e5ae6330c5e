"""Conditions -> SQL over the index tables: each condition is a query for a set of `rid`s.

Semantics follow the FHIR R4 search page, per type (the comments name the rule). Every value
is checked before it reaches SQL: a bad one raises SearchError naming the parameter.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal

from harness.refserver.search import geo
from harness.refserver.search.conditions import (
    AllOf,
    AnyOf,
    Chain,
    Condition,
    Has,
    Leaf,
    Near,
    Negation,
)
from harness.refserver.search.errors import SearchError
from harness.refserver.search.index import REFERENCE, table_of
from harness.refserver.search.query import split_unescaped, unescape
from harness.refserver.search.registry import SearchParam
from harness.refserver.search.values import (
    date_range,
    normalise,
    parse_decimal,
    precision_range,
    words,
)

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
#: Upper bound for a "starts with" range scan on normalised text.
TOP = "\U0010ffff"

Sql = tuple[str, list]


class SqlBuilder:
    """Builds SQL for one search; `pid(type, name)` maps parameters to index ids."""

    def __init__(self, pid: Callable[[str, str], int | None], base_url: str, served: tuple[str, ...], *,
                 now_ms: int | None = None) -> None:
        self.pid_of = pid
        self.served = served
        self.base_url = base_url.rstrip("/")
        self.now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        self.near: list[Near] = []

    # -- composition -------------------------------------------------------------------------
    def build(self, cond: Condition, resource_type: str) -> Sql:
        if isinstance(cond, Leaf):
            return self.leaf(cond)
        if isinstance(cond, Chain):
            return self.chain(cond)
        if isinstance(cond, Has):
            return self.has(cond)
        if isinstance(cond, Near):
            return self.near_sql(cond)
        if isinstance(cond, AllOf):
            return self._combine(cond.items, "INTERSECT", resource_type)
        if isinstance(cond, AnyOf):
            return self._combine(cond.items, "UNION", resource_type)
        if isinstance(cond, Negation):
            sql, args = self.build(cond.item, resource_type)
            return f"SELECT rid FROM resources WHERE type=? EXCEPT {sql}", [cond.resource_type, *args]
        raise TypeError(cond)

    def _combine(self, items: list[Condition], op: str, resource_type: str) -> Sql:
        parts = [self.build(c, resource_type) for c in items]
        return (f" {op} ".join(f"SELECT rid FROM ({s})" for s, _ in parts),
                [a for _, args in parts for a in args])

    def everything(self, resource_type: str) -> Sql:
        return "SELECT rid FROM resources WHERE type=?", [resource_type]

    def pid(self, param: SearchParam) -> int:
        pid = self.pid_of(param.resource_type, param.name)
        if pid is None:
            raise SearchError(f"{param.name} is not indexed on {param.resource_type}", code="not-supported",
                              parameter=param.name)
        return pid

    # -- leaves ------------------------------------------------------------------------------
    def leaf(self, leaf: Leaf) -> Sql:
        param = leaf.param
        table = table_of(param)
        pid = self.pid(param)
        if leaf.modifier == "missing":
            present = f"SELECT rid FROM {table} WHERE pid=?"
            if leaf.values == ["true"]:
                return f"SELECT rid FROM resources WHERE type=? EXCEPT {present}", [param.resource_type, pid]
            return present, [pid]
        if leaf.modifier == "not":  # token :not: every resource without a matching token
            positive = Leaf(param, None, leaf.values)
            sql, args = self.leaf(positive)
            return f"SELECT rid FROM resources WHERE type=? EXCEPT {sql}", [param.resource_type, *args]
        clauses, args = [], []
        for raw in leaf.values:
            if raw == "":
                raise SearchError(f"{param.name}: empty value in a list", parameter=param.name)
            clause, clause_args = self._value_clause(param, leaf.modifier, raw)
            clauses.append(f"({clause})")
            args.extend(clause_args)
        return f"SELECT rid FROM {table} WHERE pid=? AND ({' OR '.join(clauses)})", [pid, *args]

    def _value_clause(self, param: SearchParam, modifier: str | None, raw: str) -> tuple[str, list]:
        kind = param.type
        if kind == "token":
            return self._token(param, modifier, raw)
        if kind == "string":
            return self._string(modifier, unescape(raw))
        if kind == "date":
            return self._date(param, raw)
        if kind == "number":
            return self._number(param, raw)
        if kind == "quantity":
            return self._quantity(param, raw)
        if kind == "reference":
            return self._reference(param, modifier, unescape(raw))
        if kind == "uri":
            return self._uri(modifier, unescape(raw))
        raise SearchError(f"{param.name}: {kind} parameters are not searchable this way", code="not-supported",
                          parameter=param.name)

    def _token(self, param: SearchParam, modifier: str | None, raw: str) -> tuple[str, list]:
        if modifier == "text":  # :text: the display/text starts with the value, word-wise
            text = words(unescape(raw))
            return "text >= ? AND text < ? OR text LIKE ? ESCAPE '\\'", [text, text + TOP, "% " + _like(text) + "%"]
        parts = [unescape(p) for p in split_unescaped(raw, "|")]
        if modifier == "of-type":  # identifier :of-type: type-system|type-code|value
            if len(parts) != 3 or not all(parts):
                raise SearchError(f"{param.name}:of-type: expected type-system|type-code|value, not {raw!r}",
                                  parameter=param.name)
            return "tsystem=? AND tcode=? AND code=?", parts
        if len(parts) == 1:
            return "code=?", [parts[0]]
        if len(parts) != 2:
            raise SearchError(f"{param.name}: a token is [system|]code, not {raw!r}", parameter=param.name)
        system, code = parts
        if system == "" and code == "":
            raise SearchError(f"{param.name}: '|' alone is not a token", parameter=param.name)
        if system == "":
            return "system IS NULL AND code=?", [code]
        if code == "":
            return "system=?", [system]
        return "code=? AND system=?", [code, system]

    @staticmethod
    def _string(modifier: str | None, text: str) -> tuple[str, list]:
        if modifier == "exact":
            return "exact=?", [text]
        norm = normalise(text)
        if modifier == "contains":
            return "norm LIKE ? ESCAPE '\\'", ["%" + _like(norm) + "%"]
        if modifier == "ends-with":  # only from _filter `ew`
            return "norm LIKE ? ESCAPE '\\'", ["%" + _like(norm)]
        return "norm >= ? AND norm < ?", [norm, norm + TOP]  # starts with (case, accents ignored)

    def _date(self, param: SearchParam, raw: str) -> tuple[str, list]:
        prefix, text = _prefix(raw)
        rng = date_range(text)
        if rng is None:
            raise SearchError(f"{param.name}: {text!r} is not a FHIR date (YYYY[-MM[-DD[Thh:mm[:ss][zone]]]])",
                              parameter=param.name)
        lo, hi = rng
        # R4 "3.1.1.4.2 date": ranges, half-open here: the value's range [lo, hi) vs the target's
        if prefix == "eq":
            return "lo >= ? AND hi <= ?", [lo, hi]
        if prefix == "ne":
            return "NOT (lo >= ? AND hi <= ?)", [lo, hi]
        if prefix == "gt":
            return "hi > ?", [hi]
        if prefix == "lt":
            return "lo < ?", [lo]
        if prefix == "ge":
            return "hi > ? OR (lo >= ? AND hi <= ?)", [hi, lo, hi]
        if prefix == "le":
            return "lo < ? OR (lo >= ? AND hi <= ?)", [lo, lo, hi]
        if prefix == "sa":
            return "lo >= ?", [hi]
        if prefix == "eb":
            return "hi <= ?", [lo]
        gap = abs(self.now_ms - lo) // 10  # ap: within 10% of the distance to now
        return "lo < ? AND hi > ?", [hi + gap, lo - gap]

    def _number(self, param: SearchParam, raw: str) -> tuple[str, list]:
        prefix, text = _prefix(raw)
        value = parse_decimal(text)
        if value is None:
            raise SearchError(f"{param.name}: {text!r} is not a number", parameter=param.name)
        return _compare("value", prefix, value)

    def _quantity(self, param: SearchParam, raw: str) -> tuple[str, list]:
        parts = [unescape(p) for p in split_unescaped(raw, "|")]
        if len(parts) not in (1, 3):
            raise SearchError(f"{param.name}: a quantity is [prefix]number[|system|code], not {raw!r}",
                              parameter=param.name)
        prefix, text = _prefix(parts[0])
        value = parse_decimal(text)
        if value is None:
            raise SearchError(f"{param.name}: {text!r} is not a number", parameter=param.name)
        clause, args = _compare("value", prefix, value)
        if len(parts) == 3:
            system, code = parts[1], parts[2]
            if system:  # system|code: both must match
                clause += " AND system=? AND code=?"
                args += [system, code]
            elif code:  # ||code: the code or the unit (R4 quantity search)
                clause += " AND (code=? OR unit=?)"
                args += [code, code]
        return clause, args

    def _reference(self, param: SearchParam, modifier: str | None, value: str) -> tuple[str, list]:
        if not value:
            raise SearchError(f"{param.name}: empty reference", parameter=param.name)
        match = REFERENCE.match(value)
        if match and (not match["base"] or match["base"].rstrip("/") == self.base_url):
            if modifier and match["type"] != modifier:
                raise SearchError(f"{param.name}:{modifier}: {value!r} is not a {modifier}", parameter=param.name)
            return "ttype=? AND tid=? AND (url IS NULL OR url LIKE ?)", [match["type"], match["id"],
                                                                         self.base_url + "/%"]
        if match or "://" in value or value.startswith("urn:"):
            return "url=?", [value.partition("|")[0]]  # external reference or canonical: compared as is
        if "/" in value:
            raise SearchError(f"{param.name}: {value!r} is not [Type/]id or an absolute URL", parameter=param.name)
        types = [modifier] if modifier else list(param.targets)
        if len(types) == 1:
            return "ttype=? AND tid=? AND (url IS NULL OR url LIKE ?)", [types[0], value, self.base_url + "/%"]
        return "tid=? AND (url IS NULL OR url LIKE ?)", [value, self.base_url + "/%"]

    @staticmethod
    def _uri(modifier: str | None, value: str) -> tuple[str, list]:
        if modifier == "below":
            return "uri LIKE ? ESCAPE '\\'", [_like(value) + "%"]
        if modifier == "above":
            return "substr(?, 1, length(uri)) = uri", [value]
        return "uri=?", [value]

    # -- chains, reverse chains, distance --------------------------------------------------------
    def targets_of(self, ref: SearchParam, target_type: str) -> str:
        """SQL joining reference rows `r` to their local target `t` (only references to our base)."""
        return ("FROM ix_reference r JOIN resources t ON t.type=r.ttype AND t.id=r.tid "
                f"WHERE r.pid={self.pid(ref)} AND t.type='{target_type}' "
                f"AND (r.url IS NULL OR r.url LIKE '{_sql_text(self.base_url)}/%')")

    def canonical_targets(self, ref: SearchParam, target_type: str) -> str | None:
        """Reference rows `r` holding a canonical, joined to targets `u` by their `url` (Measure...)."""
        url_pid = self.pid_of(target_type, "url")
        if url_pid is None:
            return None
        return (f"FROM ix_reference r JOIN ix_uri u ON u.uri=r.url AND u.pid={url_pid} "
                f"WHERE r.pid={self.pid(ref)} AND r.ttype IS NULL")

    def chain(self, chain: Chain) -> Sql:
        inner, args = self.build(chain.inner, chain.target_type)
        if chain.above:  # the ROR reading: the target or any of its partof ancestors matches
            inner, args = self.descendants(chain.target_type, inner, args)
        sql = f"SELECT r.rid {self.targets_of(chain.ref, chain.target_type)} AND t.rid IN ({inner})"
        canonical = self.canonical_targets(chain.ref, chain.target_type)
        if canonical:
            sql += f" UNION SELECT r.rid {canonical} AND u.rid IN ({inner})"
            args = args + args
        return sql, args

    def descendants(self, resource_type: str, inner: str, args: list) -> Sql:
        """`inner` plus every resource whose partof chain reaches it (recursive, cycle-safe)."""
        partof = self.pid_of(resource_type, "partof")
        sql = (f"WITH RECURSIVE below(rid) AS (SELECT rid FROM ({inner}) UNION "
               f"SELECT r.rid FROM ix_reference r JOIN resources t ON t.type=r.ttype AND t.id=r.tid "
               f"JOIN below b ON b.rid=t.rid WHERE r.pid={partof}) SELECT rid FROM below")
        return sql, args

    def has(self, has: Has) -> Sql:
        inner, args = self.build(has.inner, has.source_type)
        sql = (f"SELECT t.rid {self.targets_of(has.ref, has.resource_type)} AND r.rid IN ({inner})")
        canonical = self.canonical_targets(has.ref, has.resource_type)
        if canonical:
            sql += f" UNION SELECT u.rid {canonical} AND r.rid IN ({inner})"
            args = args + args
        return sql, args

    def near_sql(self, near: Near) -> Sql:
        self.near.append(near)
        pid = self.pid(near.param)
        if near.param.name == "near-insee-code":
            codes = sorted(geo.communes_within(near.lat, near.lon, near.km))
            return ("SELECT rid FROM ix_token WHERE pid=? AND code IN (SELECT value FROM json_each(?))",
                    [pid, _json_list(codes)])
        dlat = near.km / 110.0 + 1e-6
        return ("SELECT rid FROM ix_geo WHERE pid=? AND lat BETWEEN ? AND ? AND geo_km(lat, lon, ?, ?) <= ?",
                [pid, near.lat - dlat, near.lat + dlat, near.lat, near.lon, near.km])


def _prefix(raw: str) -> tuple[str, str]:
    if len(raw) > 2 and raw[:2] in PREFIXES and not raw[2].isalpha():
        return raw[:2], raw[2:]
    return "eq", raw


def _compare(column: str, prefix: str, value: Decimal) -> tuple[str, list]:
    """R4 number rules: eq/ne use the value's implicit precision range; the others compare exactly."""
    lo, hi = precision_range(value)
    v = float(value)
    if prefix == "eq":
        return f"{column} >= ? AND {column} < ?", [lo, hi]
    if prefix == "ne":
        return f"NOT ({column} >= ? AND {column} < ?)", [lo, hi]
    if prefix == "ap":  # within 10% of the value
        margin = abs(v) * 0.1
        return f"{column} >= ? AND {column} <= ?", [v - margin, v + margin]
    op = {"gt": ">", "sa": ">", "lt": "<", "eb": "<", "ge": ">=", "le": "<="}[prefix]
    return f"{column} {op} ?", [v]


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _sql_text(text: str) -> str:
    return text.replace("'", "''")


def _json_list(items: list[str]) -> str:
    return json.dumps(items)
