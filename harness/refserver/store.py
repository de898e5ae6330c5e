"""The reference server's resource store: one SQLite file, current versions plus history.

Why SQLite (WAL): the reference server must run anywhere the harness runs, with no service to
install, yet hold a national-scale dataset (100,000+ resources) and answer searches with
indexes. WAL lets HTTP worker threads read while one writer loads or updates.

Threading model: one writer connection guarded by a lock, one reader connection per thread
(readers never block the writer and always see the last committed state).

Every write also writes the resource's search index rows (search/index.py) in the same
transaction, so a search never sees a resource without its index or the other way round.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import uuid
import zlib
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import orjson

from harness.fhir.packages import DEFAULT_IG, PackageSet
from harness.refserver.search.fhirtypes import FhirTypes
from harness.refserver.search.index import Indexer
from harness.refserver.search.registry import Registry

SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    rid INTEGER PRIMARY KEY,           -- join key of the search index tables
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    last_updated TEXT NOT NULL,
    body BLOB NOT NULL,                -- the resource as stored (JSON, meta included), see encode()
    UNIQUE (type, id)
);
-- superseded versions only (the current one is in resources): a dataset load writes no history
CREATE TABLE IF NOT EXISTS history (
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    last_updated TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (type, id, version)
) WITHOUT ROWID;
"""


class VersionConflict(Exception):
    """An update carried an If-Match version that is not the current one (HTTP 412)."""

    def __init__(self, resource_type: str, resource_id: str, expected: str, current: str | None) -> None:
        self.expected = expected
        self.current = current
        super().__init__(
            f"{resource_type}/{resource_id}: If-Match version {expected!r} but the current version is "
            + (repr(current) if current is not None else "none (the resource does not exist)")
        )


def encode(resource: dict) -> bytes:
    """Stored form of a resource: compact JSON, zlib level 1 (about 4x smaller for ROR
    resources, which keeps a 100,000-resource database near 300 MB instead of 800 MB)."""
    return zlib.compress(orjson.dumps(resource), 1)


def decode(body: bytes) -> dict:
    return orjson.loads(zlib.decompress(body))


def format_instant(moment: datetime) -> str:
    """A FHIR instant in UTC with milliseconds: sortable as text, exact to what is stored."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"


def _check_resource(resource: dict) -> tuple[str, str | None]:
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise ValueError("not a FHIR resource: a JSON object with a resourceType is expected")
    rid = resource.get("id")
    if rid is not None and not isinstance(rid, str):
        raise ValueError(f"{resource['resourceType']}.id must be a string")
    return resource["resourceType"], rid


class Store:
    """A FHIR resource store in one SQLite database file (WAL)."""

    def __init__(self, path: str | Path, packages: PackageSet | None = None) -> None:
        self.path = Path(path)
        self.packages = packages if packages is not None else PackageSet(DEFAULT_IG)
        self.registry = Registry(self.packages)
        self._write_lock = threading.RLock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._writer = self._connect()
        self._writer.executescript(SCHEMA)
        self.indexer = Indexer(self.registry, FhirTypes(self.packages), self._writer)

    # -- connections -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("PRAGMA cache_size=-131072")  # 128 MiB: index B-trees stay in memory during a load
        conn.execute("PRAGMA temp_store=MEMORY")
        return conn

    def reader(self) -> sqlite3.Connection:
        """This thread's read connection (created on first use)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    # -- writes ------------------------------------------------------------------------------
    def put(self, resource: dict, *, if_match: str | None = None, now: datetime | None = None,
            keep_meta: bool = False) -> dict:
        """Create or update one resource and return it as stored (with its new meta).

        `keep_meta` keeps a given meta.versionId/lastUpdated (dataset loading); otherwise the
        version increments and lastUpdated is `now` (default: the current UTC time).
        """
        with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                stored = self._put(conn, resource, if_match=if_match, now=now, keep_meta=keep_meta)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return stored

    def load(self, resources: Iterable[dict], *, batch: int = 2000) -> int:
        """Bulk-load a dataset, keeping each resource's meta; one transaction per `batch`."""
        total = 0
        with self._write_lock:
            conn = self._writer
            bulk = conn.execute("SELECT 1 FROM resources LIMIT 1").fetchone() is None
            if bulk:
                self.indexer.drop_indexes(conn)
            try:
                for chunk in _chunks(resources, batch):
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        for resource in chunk:
                            self._put(conn, resource, if_match=None, now=None, keep_meta=True)
                    except BaseException:
                        conn.execute("ROLLBACK")
                        raise
                    conn.execute("COMMIT")
                    total += len(chunk)
            finally:
                if bulk:
                    self.indexer.create_indexes(conn)
                    conn.execute("ANALYZE")
        return total

    def _put(self, conn: sqlite3.Connection, resource: dict, *, if_match: str | None,
             now: datetime | None, keep_meta: bool) -> dict:
        rtype, rid = _check_resource(resource)
        current = None
        if rid is not None:
            current = conn.execute(
                "SELECT rid, version FROM resources WHERE type=? AND id=?", (rtype, rid)).fetchone()
        if if_match is not None:
            current_version = str(current[1]) if current else None
            if current_version != _strip_etag(if_match):
                raise VersionConflict(rtype, rid or "?", if_match, current_version)
        stored = dict(resource)
        if rid is None:
            stored["id"] = rid = str(uuid.uuid4())
        meta = dict(stored.get("meta") or {})
        given_version = meta.get("versionId")
        if keep_meta and isinstance(given_version, str) and given_version.isdigit():
            version = int(given_version)
        else:
            version = current[1] + 1 if current else 1
        if not (keep_meta and isinstance(meta.get("lastUpdated"), str)):
            meta["lastUpdated"] = format_instant(now or datetime.now(timezone.utc))
        meta["versionId"] = str(version)
        stored["meta"] = meta
        body = encode(stored)
        if current:
            row_id = current[0]
            conn.execute("INSERT OR REPLACE INTO history (type, id, version, last_updated, body) "
                         "SELECT type, id, version, last_updated, body FROM resources WHERE rid=?", (row_id,))
            conn.execute("UPDATE resources SET version=?, last_updated=?, body=? WHERE rid=?",
                         (version, meta["lastUpdated"], body, row_id))
        else:
            row_id = conn.execute(
                "INSERT INTO resources (type, id, version, last_updated, body) VALUES (?,?,?,?,?)",
                (rtype, rid, version, meta["lastUpdated"], body)).lastrowid
        self.indexer.write(conn, row_id, stored, replace=current is not None)
        return stored

    # -- reads -------------------------------------------------------------------------------
    def get(self, resource_type: str, resource_id: str) -> dict | None:
        """The current version of a resource, or None."""
        row = self.reader().execute(
            "SELECT body FROM resources WHERE type=? AND id=?", (resource_type, resource_id)).fetchone()
        return decode(row[0]) if row else None

    def vread(self, resource_type: str, resource_id: str, version_id: str) -> dict | None:
        """One version of a resource (`GET [type]/[id]/_history/[vid]`), or None."""
        if not version_id.isdigit():
            return None
        row = self.reader().execute(
            "SELECT body FROM resources WHERE type=? AND id=? AND version=? UNION ALL "
            "SELECT body FROM history WHERE type=? AND id=? AND version=?",
            (resource_type, resource_id, int(version_id)) * 2).fetchone()
        return decode(row[0]) if row else None

    def bodies(self, rids: list[int]) -> dict[int, dict]:
        """Resources by storage rowid (the search engine's result ids)."""
        if not rids:
            return {}
        rows = self.reader().execute(
            "SELECT rid, body FROM resources WHERE rid IN (SELECT value FROM json_each(?))", (json.dumps(rids),))
        return {rid: decode(body) for rid, body in rows}

    def count(self, resource_type: str | None = None) -> int:
        """How many current resources (of one type, or all)."""
        if resource_type is None:
            return self.reader().execute("SELECT count(*) FROM resources").fetchone()[0]
        return self.reader().execute(
            "SELECT count(*) FROM resources WHERE type=?", (resource_type,)).fetchone()[0]

    def iter_type(self, resource_type: str) -> Iterator[dict]:
        """Every current resource of a type, in storage order ($export, dataset checks)."""
        for (body,) in self.reader().execute(
                "SELECT body FROM resources WHERE type=? ORDER BY rid", (resource_type,)):
            yield decode(body)

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        self._local = threading.local()
        with self._write_lock:
            self._writer.close()


def _strip_etag(value: str) -> str:
    """Accept a bare versionId or an ETag (`W/"3"`), as If-Match carries the latter."""
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')


def _chunks(items: Iterable[dict], size: int) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
