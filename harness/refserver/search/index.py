"""Search index tables and the conversion of resources into index rows (write time).

One table per parameter type, keyed by an integer parameter id (`params` table) and the
resource's rowid (`rid`). Each row holds values already normalised the way queries compare
them (values.py), so a search is a plain indexed SQL lookup.
"""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from harness.fhir.fhirpath import NotEvaluable, default_engine
from harness.refserver.search.fhirtypes import FhirTypes
from harness.refserver.search.paths import Compiler, Item, Unsupported
from harness.refserver.search.registry import Registry, SearchParam
from harness.refserver.search.values import MAX_MS, MIN_MS, date_range, normalise, words

SCHEMA = """
CREATE TABLE IF NOT EXISTS params (pid INTEGER PRIMARY KEY, rtype TEXT NOT NULL, name TEXT NOT NULL,
                                   UNIQUE (rtype, name));
CREATE TABLE IF NOT EXISTS ix_token (pid INTEGER, rid INTEGER, system TEXT, code TEXT, text TEXT,
                                     tsystem TEXT, tcode TEXT);
CREATE TABLE IF NOT EXISTS ix_string (pid INTEGER, rid INTEGER, norm TEXT, exact TEXT);
CREATE TABLE IF NOT EXISTS ix_date (pid INTEGER, rid INTEGER, lo INTEGER, hi INTEGER);
CREATE TABLE IF NOT EXISTS ix_number (pid INTEGER, rid INTEGER, value REAL);
CREATE TABLE IF NOT EXISTS ix_quantity (pid INTEGER, rid INTEGER, value REAL, system TEXT, code TEXT, unit TEXT);
CREATE TABLE IF NOT EXISTS ix_reference (pid INTEGER, rid INTEGER, ttype TEXT, tid TEXT, url TEXT);
CREATE TABLE IF NOT EXISTS ix_uri (pid INTEGER, rid INTEGER, uri TEXT);
CREATE TABLE IF NOT EXISTS ix_geo (pid INTEGER, rid INTEGER, lat REAL, lon REAL);
"""

INDEXES = """
CREATE INDEX IF NOT EXISTS ix_token_code ON ix_token (pid, code, system, rid);
CREATE INDEX IF NOT EXISTS ix_token_rid ON ix_token (rid);
CREATE INDEX IF NOT EXISTS ix_string_norm ON ix_string (pid, norm, rid);
CREATE INDEX IF NOT EXISTS ix_string_rid ON ix_string (rid);
CREATE INDEX IF NOT EXISTS ix_date_lo ON ix_date (pid, lo, hi, rid);
CREATE INDEX IF NOT EXISTS ix_date_rid ON ix_date (rid);
CREATE INDEX IF NOT EXISTS ix_number_value ON ix_number (pid, value, rid);
CREATE INDEX IF NOT EXISTS ix_number_rid ON ix_number (rid);
CREATE INDEX IF NOT EXISTS ix_quantity_value ON ix_quantity (pid, value);
CREATE INDEX IF NOT EXISTS ix_quantity_rid ON ix_quantity (rid);
CREATE INDEX IF NOT EXISTS ix_reference_target ON ix_reference (pid, ttype, tid, rid);
CREATE INDEX IF NOT EXISTS ix_reference_rid ON ix_reference (rid, pid);
CREATE INDEX IF NOT EXISTS ix_reference_url ON ix_reference (pid, url);
CREATE INDEX IF NOT EXISTS ix_uri_uri ON ix_uri (pid, uri, rid);
CREATE INDEX IF NOT EXISTS ix_uri_rid ON ix_uri (rid);
CREATE INDEX IF NOT EXISTS ix_geo_lat ON ix_geo (pid, lat);
CREATE INDEX IF NOT EXISTS ix_geo_rid ON ix_geo (rid);
"""
#: parameter type -> index table
TABLES = {"token": "ix_token", "string": "ix_string", "date": "ix_date", "number": "ix_number",
          "quantity": "ix_quantity", "reference": "ix_reference", "uri": "ix_uri"}
#: special parameters indexed like another type (their values are tokens or points)
SPECIAL_TABLES = {"near": "ix_geo", "near-insee-code": "ix_token"}
ALL_TABLES = ("ix_token", "ix_string", "ix_date", "ix_number", "ix_quantity", "ix_reference", "ix_uri", "ix_geo")
CURRENCY_SYSTEM = "urn:iso:std:iso:4217"
_ABSTRACT_ROOT = re.compile(r"(^|\|\s*|\(\s*)(?:DomainResource|Resource)\.")
#: A literal reference `[base/]Type/id[/_history/v]` (shared with the query side, sql.py)
REFERENCE = re.compile(r"^(?:(?P<base>.*)/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


def table_of(param: SearchParam) -> str:
    return SPECIAL_TABLES.get(param.name) if param.type == "special" else TABLES[param.type]


@dataclass
class CompiledParam:
    """A parameter ready to index: its id, table and extractor (native or fhirpathpy)."""

    param: SearchParam
    pid: int
    table: str
    extract: Callable[[dict], list[Item]]
    native: bool


def fhirpathpy_extractor(expression: str, resource_type: str) -> Callable[[dict, dict | None], list[Item]]:
    """The slow but general path: fhirpathpy through harness.fhir.fhirpath, values untyped.

    fhirpathpy does not match a `Resource.` / `DomainResource.` root against a concrete
    resource, so those roots are written as the resource type. Raises NotEvaluable when
    fhirpathpy cannot run the expression at all.
    """
    concrete = _ABSTRACT_ROOT.sub(lambda m: m.group(1) + resource_type + ".", expression)
    compiled = default_engine().compile(concrete)

    def extract(resource: dict, memo: dict | None = None) -> list[Item]:
        try:
            return [Item(v, None) for v in compiled(resource)]
        except NotEvaluable:
            return []

    return extract


class Indexer:
    """Turns a resource into index rows for every parameter of its type."""

    def __init__(self, registry: Registry, types: FhirTypes, conn: sqlite3.Connection) -> None:
        self.registry = registry
        self.types = types
        compiler = Compiler(types)
        self.by_type: dict[str, list[CompiledParam]] = {}
        self.pids: dict[tuple[str, str], int] = {}
        self.unindexed: dict[str, str] = {}  # parameter key -> why neither engine can run it
        conn.executescript(SCHEMA)
        conn.executescript(INDEXES)
        for param in registry.all():
            table = table_of(param)
            if table is None or not param.expression:
                continue
            try:
                extract, native = compiler.compile(param.expression, param.resource_type), True
            except Unsupported:
                try:
                    extract, native = fhirpathpy_extractor(param.expression, param.resource_type), False
                except NotEvaluable as exc:
                    self.unindexed[param.key] = exc.reason
                    continue
            conn.execute("INSERT OR IGNORE INTO params (rtype, name) VALUES (?, ?)",
                         (param.resource_type, param.name))
            pid = conn.execute("SELECT pid FROM params WHERE rtype=? AND name=?",
                               (param.resource_type, param.name)).fetchone()[0]
            self.pids[(param.resource_type, param.name)] = pid
            self.by_type.setdefault(param.resource_type, []).append(
                CompiledParam(param, pid, table, extract, native))

    @staticmethod
    def drop_indexes(conn: sqlite3.Connection) -> None:
        """Before a bulk load into an empty store: building the B-trees once afterwards is
        about twice as fast as maintaining them row by row (measured in docs/refserver-search.md)."""
        for name in re.findall(r"CREATE INDEX IF NOT EXISTS (\w+)", INDEXES):
            conn.execute(f"DROP INDEX IF EXISTS {name}")

    @staticmethod
    def create_indexes(conn: sqlite3.Connection) -> None:
        conn.executescript(INDEXES)

    def pid(self, resource_type: str, name: str) -> int | None:
        return self.pids.get((resource_type, name))

    def rows(self, resource: dict) -> dict[str, list[tuple]]:
        """Index rows per table for one resource (without the rid, added by write())."""
        out: dict[str, list[tuple]] = {}
        memo: dict = {}
        for cp in self.by_type.get(resource.get("resourceType"), ()):
            items = cp.extract(resource, memo)
            if not items:
                continue
            rows = self.convert(cp, items)
            if rows:
                out.setdefault(cp.table, []).extend(rows)
        return out

    def convert(self, cp: CompiledParam, items: list[Item]) -> list[tuple]:
        table = cp.table
        pid = cp.pid
        rows: list[tuple] = []
        for item in items:
            if table == "ix_token":
                rows.extend((pid, *r) for r in self.token_rows(item))
            elif table == "ix_string":
                rows.extend((pid, normalise(s), s) for s in string_values(item))
            elif table == "ix_date":
                rng = date_bounds(item)
                if rng:
                    rows.append((pid, *rng))
            elif table == "ix_number":
                value = number_value(item)
                if value is not None:
                    rows.append((pid, value))
            elif table == "ix_quantity":
                q = quantity_value(item)
                if q:
                    rows.append((pid, *q))
            elif table == "ix_reference":
                ref = reference_value(item)
                if ref:
                    rows.append((pid, *ref))
            elif table == "ix_uri":
                if isinstance(item.value, str):
                    rows.append((pid, item.value))
            elif table == "ix_geo":
                point = geo_value(item)
                if point:
                    rows.append((pid, *point))
        return list(dict.fromkeys(rows))  # the same value twice indexes once

    def token_rows(self, item: Item) -> list[tuple]:
        """(system, code, text, type-system, type-code) rows of a token value."""
        value, kind = item.value, item.type or _token_shape(item.value)
        if kind == "Coding" and isinstance(value, dict):
            return [(value.get("system"), value.get("code"), _norm(value.get("display")), None, None)]
        if kind == "CodeableConcept" and isinstance(value, dict):
            text = _norm(value.get("text"))
            rows = [(c.get("system"), c.get("code"), _norm(c.get("display")) or text, None, None)
                    for c in value.get("coding", []) if isinstance(c, dict)]
            if text and all(r[2] != text for r in rows):  # :text also searches CodeableConcept.text
                rows.append((None, None, text, None, None))
            return rows
        if kind == "Identifier" and isinstance(value, dict):
            itype = value.get("type") or {}
            base = (value.get("system"), value.get("value"), _norm(itype.get("text")))
            typed = [(*base, c.get("system"), c.get("code")) for c in itype.get("coding", []) if isinstance(c, dict)]
            return typed or [(*base, None, None)]
        if kind == "ContactPoint" and isinstance(value, dict):
            return [(None, value.get("value"), None, None, None)] if value.get("value") else []
        if isinstance(value, bool):
            return [(None, "true" if value else "false", None, None, None)]
        if isinstance(value, str):
            system = self.types.code_system_of(item.binding) if item.binding and kind == "code" else None
            return [(system, value, None, None, None)]
        return []

    def write(self, conn: sqlite3.Connection, rid: int, resource: dict, *, replace: bool) -> None:
        """Store the rows of `resource` under `rid` (dropping its old rows on update)."""
        if replace:
            for table in ALL_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE rid=?", (rid,))
        for table, rows in self.rows(resource).items():
            width = len(rows[0]) + 1
            marks = ",".join("?" * width)
            conn.executemany(f"INSERT INTO {table} VALUES ({marks})",
                             [(r[0], rid, *r[1:]) for r in rows])


def _norm(text: object) -> str | None:
    return words(text) if isinstance(text, str) and text else None


def _token_shape(value: object) -> str | None:
    """Type of an untyped (fhirpathpy) token value, from its JSON shape."""
    if not isinstance(value, dict):
        return None
    if "coding" in value or ("text" in value and "value" not in value):
        return "CodeableConcept"
    if "value" in value and value.get("system") in ("phone", "fax", "email", "pager", "url", "sms", "other"):
        return "ContactPoint"
    if "value" in value:
        return "Identifier"
    if "code" in value or "system" in value:
        return "Coding"
    return None


def string_values(item: Item) -> list[str]:
    """The strings a string parameter matches: a primitive, or each part of a name or address."""
    value = item.value
    if isinstance(value, str):
        return [value]
    if not isinstance(value, dict):
        return []
    keys = ("text", "family", "given", "prefix", "suffix", "line", "city", "district", "state",
            "postalCode", "country")
    out: list[str] = []
    for key in keys:
        part = value.get(key)
        for v in (part if isinstance(part, list) else [part]):
            if isinstance(v, str) and v:
                out.append(v)
    return out


def date_bounds(item: Item) -> tuple[int, int] | None:
    """[low, high) of a date, dateTime, instant or Period (open ends unbounded)."""
    value = item.value
    if isinstance(value, str):
        return date_range(value)
    if isinstance(value, dict) and ("start" in value or "end" in value):
        start = date_range(value["start"]) if isinstance(value.get("start"), str) else None
        end = date_range(value["end"]) if isinstance(value.get("end"), str) else None
        if start is None and end is None:
            return None
        return (start[0] if start else MIN_MS), (end[1] if end else MAX_MS)
    return None


def number_value(item: Item) -> float | None:
    value = item.value
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict) and isinstance(value.get("value"), (int, float)):
        return float(value["value"])
    return None


def quantity_value(item: Item) -> tuple | None:
    """(value, system, code, unit) of a Quantity (or Money: ISO 4217 currency as the code)."""
    value = item.value
    number = value.get("value") if isinstance(value, dict) else None
    if not isinstance(number, (int, float)) or isinstance(number, bool):
        return None
    if item.type == "Money" or ("currency" in value and "code" not in value):
        return float(value["value"]), CURRENCY_SYSTEM, value.get("currency"), value.get("currency")
    return float(value["value"]), value.get("system"), value.get("code"), value.get("unit")


def reference_value(item: Item) -> tuple | None:
    """(target type, target id, url) of a Reference or canonical; None for contained/logical ones.

    An absolute reference keeps its URL so that a search by the same URL matches; its type and
    id are kept too so includes and chains reach the local copy when the base is ours.
    """
    value = item.value
    if isinstance(value, dict):
        ref = value.get("reference")
        if not isinstance(ref, str) or not ref or ref.startswith("#"):
            return None
        match = REFERENCE.match(ref)
        if match:
            return match["type"], match["id"], ref if match["base"] else None
        return None, None, ref
    if isinstance(value, str) and value:  # canonical: matched against the target's url
        return None, None, value.partition("|")[0]
    return None


def geo_value(item: Item) -> tuple[float, float] | None:
    value = item.value
    if isinstance(value, dict) and all(isinstance(value.get(k), (int, float)) for k in ("latitude", "longitude")):
        return float(value["latitude"]), float(value["longitude"])
    return None
