"""The reference server store on a real SQLite file: versions, If-Match, history, index upkeep
on update, reopening, and readers searching while a writer writes."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest

from harness.refserver.search import SearchEngine
from harness.refserver.store import Store, VersionConflict

BASE = "https://ror.test/fhir"


@pytest.fixture()
def store(tmp_path) -> Store:
    s = Store(tmp_path / "ror.db")
    yield s
    s.close()


def names(engine: SearchEngine, value: str) -> set[str]:
    return {r["id"] for r in engine.search("Organization", [("name", value)], base_url=BASE).matches}


def test_put_versions_and_if_match(store):
    moment = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=timezone.utc)
    created = store.put({"resourceType": "Organization", "name": "Alpha"}, now=moment)
    rid = created["id"]
    assert created["meta"] == {"versionId": "1", "lastUpdated": "2024-05-01T12:00:00.123+00:00"}
    updated = store.put({**created, "name": "Beta"}, if_match='W/"1"')
    assert updated["meta"]["versionId"] == "2"
    with pytest.raises(VersionConflict) as conflict:
        store.put({**created, "name": "Gamma"}, if_match="1")
    assert conflict.value.current == "2"
    with pytest.raises(VersionConflict):
        store.put({"resourceType": "Organization", "id": "nobody"}, if_match="1")
    assert store.get("Organization", rid)["name"] == "Beta"
    assert store.vread("Organization", rid, "1")["name"] == "Alpha"
    assert store.vread("Organization", rid, "2")["name"] == "Beta"
    assert store.vread("Organization", rid, "3") is None and store.vread("Organization", rid, "x") is None
    assert store.get("Organization", "nobody") is None
    assert store.count() == 1 and store.count("Organization") == 1 and store.count("Location") == 0


def test_bad_resources_are_refused(store):
    for bad in ({"name": "no type"}, {"resourceType": "Organization", "id": 12}, ["not", "an", "object"]):
        with pytest.raises(ValueError):
            store.put(bad)
    assert store.count() == 0


def test_load_keeps_meta_and_update_reindexes(store):
    store.load([{"resourceType": "Organization", "id": f"o{i}", "name": f"Centre {i}",
                 "meta": {"versionId": "7", "lastUpdated": "2023-01-01T00:00:00Z"}} for i in range(5)])
    assert store.get("Organization", "o3")["meta"] == {"versionId": "7", "lastUpdated": "2023-01-01T00:00:00Z"}
    engine = SearchEngine(store)
    assert names(engine, "centre") == {f"o{i}" for i in range(5)}
    store.put({"resourceType": "Organization", "id": "o3", "name": "Clinique"})
    assert store.get("Organization", "o3")["meta"]["versionId"] == "8"
    assert names(engine, "centre") == {"o0", "o1", "o2", "o4"}
    assert names(engine, "clinique") == {"o3"}
    old = engine.search("Organization", [("_lastUpdated", "2023-01-01")], base_url=BASE)
    assert {r["id"] for r in old.matches} == {"o0", "o1", "o2", "o4"}


def test_reopening_keeps_data_and_indexes(tmp_path):
    first = Store(tmp_path / "ror.db")
    first.load([{"resourceType": "Organization", "id": "a", "name": "Alpha"}])
    first.close()
    again = Store(tmp_path / "ror.db")
    assert names(SearchEngine(again), "alp") == {"a"}
    indexes = {row[0] for row in again.reader().execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"ix_token_code", "ix_string_norm", "ix_reference_target"} <= indexes
    again.close()


def test_readers_search_while_a_writer_writes(store):
    engine = SearchEngine(store)
    errors: list[BaseException] = []
    done = threading.Event()
    seen: list[int] = []

    def write() -> None:
        try:
            for i in range(150):
                store.put({"resourceType": "Organization", "id": f"w{i}", "name": f"Writer {i}"})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            done.set()

    def read() -> None:
        try:
            while not done.is_set():
                result = engine.search("Organization", [("name", "writer"), ("_count", "0")], base_url=BASE)
                seen.append(result.total)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=write)] + [threading.Thread(target=read) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert seen and all(0 <= n <= 150 for n in seen)
    assert engine.search("Organization", [("name", "writer"), ("_count", "0")], base_url=BASE).total == 150
