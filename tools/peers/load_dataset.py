"""Load the seeded ROR dataset into a peer FHIR server over HTTP, keeping every resource's id.

Why PUT and not POST: the scenarios' facts (`harness.dataset.facts.collect_facts`) name resources
by the ids the generator gave them, so the peer must hold the same ids. Why batches: one HTTP
exchange per resource costs far more than the peer's own work on both peers; the dataset yields
every referenced resource before the ones that point to it, so batches sent in stream order never
reference a resource not yet stored.

    python tools/peers/load_dataset.py BASE_URL [--scale small] [--seed 0] [--batch 200]
                                       [--bundle-type batch|transaction|none]

`--bundle-type none` sends one PUT per resource (for a peer without batch support). Any entry
that is not stored (status other than 2xx) stops the load with the peer's answer: a partial
load would make every later verdict meaningless.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness.dataset import generate

FHIR_JSON = "application/fhir+json"


class LoadError(RuntimeError):
    """The peer refused or failed to store a resource."""


def _chunks(resources: Iterable[dict], size: int) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for resource in resources:
        chunk.append(resource)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _put_one(client: httpx.Client, resource: dict) -> None:
    url = f"{resource['resourceType']}/{resource['id']}"
    answer = client.put(url, content=json.dumps(resource))
    if answer.status_code not in (200, 201):
        raise LoadError(f"PUT {url}: {answer.status_code} {answer.text[:800]}")


def _send_bundle(client: httpx.Client, chunk: list[dict], bundle_type: str) -> None:
    bundle = {"resourceType": "Bundle", "type": bundle_type,
              "entry": [{"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r,
                         "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}} for r in chunk]}
    answer = client.post("", content=json.dumps(bundle))
    if answer.status_code != 200:
        raise LoadError(f"{bundle_type} of {len(chunk)} from {chunk[0]['resourceType']}/{chunk[0]['id']}: "
                        f"{answer.status_code} {answer.text[:800]}")
    entries = answer.json().get("entry", [])
    if len(entries) != len(chunk):
        raise LoadError(f"{bundle_type}: {len(chunk)} entries sent, {len(entries)} answered")
    for resource, entry in zip(chunk, entries):
        status = str(entry.get("response", {}).get("status", ""))
        if not status.startswith("20"):
            raise LoadError(f"{resource['resourceType']}/{resource['id']}: {status} "
                            f"{json.dumps(entry.get('response', {}).get('outcome'))[:800]}")


def load(base_url: str, resources: Iterable[dict], batch: int = 200, bundle_type: str = "batch",
         timeout: float = 300.0, progress: bool = False, headers: dict[str, str] | None = None) -> tuple[int, float]:
    """Store every resource; returns (count, seconds)."""
    started = time.monotonic()
    count = 0
    sent = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON, **(headers or {})}
    with httpx.Client(base_url=base_url.rstrip("/") + "/", timeout=timeout, headers=sent) as client:
        for chunk in _chunks(resources, batch if bundle_type != "none" else 1):
            if bundle_type == "none":
                _put_one(client, chunk[0])
            else:
                _send_bundle(client, chunk, bundle_type)
            count += len(chunk)
            if progress and count % 10000 < len(chunk):
                print(f"  {count} resources, {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return count, time.monotonic() - started


def _instant(value: str | None) -> datetime | str | None:
    """The instant a FHIR instant names (`...:51Z` and `...:51.000Z` are the same), else the text."""
    try:
        return datetime.fromisoformat(value) if value else value
    except ValueError:
        return value


def stored_last_updated(base_url: str, samples: dict[str, dict], page: int = 1000, timeout: float = 300.0,
                        headers: dict[str, str] | None = None) -> dict[tuple[str, str], str]:
    """meta.lastUpdated of every stored resource of the sampled types, as the peer serves it, or {}
    when the peer kept the dataset's own (one resource per type, `samples`, is read to tell).

    Why: FHIR lets the server own meta.lastUpdated ("what a client provides is irrelevant",
    resource.html#Meta), so a peer may stamp every resource with its load time; the facts of the
    `_lastUpdated` / `_since` scenarios (facts.delta) must then come from the
    stamps it holds, not from the dataset's. Read by search (`_elements=id`, `_count=page`, next links).
    """
    sent = {"Accept": FHIR_JSON, **(headers or {})}
    with httpx.Client(base_url=base_url.rstrip("/") + "/", timeout=timeout, headers=sent) as client:
        kept = True
        for rtype, resource in samples.items():
            answer = client.get(f"{rtype}/{resource['id']}")
            if answer.status_code != 200:
                raise LoadError(f"GET {rtype}/{resource['id']} after the load: {answer.status_code} {answer.text[:300]}")
            if _instant(answer.json().get("meta", {}).get("lastUpdated")) != _instant(resource.get("meta", {}).get("lastUpdated")):
                kept = False
        if kept:
            return {}
        stamps: dict[tuple[str, str], str] = {}
        for rtype in samples:
            url: str | None = f"{rtype}?_elements=id&_count={page}"
            while url:
                answer = client.get(url)
                if answer.status_code != 200:
                    raise LoadError(f"GET {url}: {answer.status_code} {answer.text[:300]}")
                bundle = answer.json()
                for entry in bundle.get("entry", ()):
                    found = entry.get("resource", {})
                    if entry.get("search", {}).get("mode", "match") == "match" and found.get("resourceType") == rtype:
                        stamps[(rtype, found["id"])] = found.get("meta", {}).get("lastUpdated", "")
                url = next((link["url"] for link in bundle.get("link", ()) if link.get("relation") == "next"), None)
    return stamps


def restamped(resources: Iterable[dict], stamps: dict[tuple[str, str], str]) -> Iterator[dict]:
    """The resources with the peer's meta.lastUpdated (unchanged when `stamps` is empty)."""
    for resource in resources:
        if stamps:
            key = (resource["resourceType"], resource["id"])
            if not stamps.get(key):
                raise LoadError(f"{key[0]}/{key[1]}: stored, but its meta.lastUpdated was not found by search")
            resource = {**resource, "meta": {**resource.get("meta", {}), "lastUpdated": stamps[key]}}
        yield resource


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--bundle-type", choices=("batch", "transaction", "none"), default="batch")
    args = parser.parse_args(argv)
    try:
        count, seconds = load(args.base_url, generate(args.scale, args.seed), args.batch, args.bundle_type,
                              progress=True)
    except (LoadError, httpx.HTTPError) as exc:
        print(f"load failed: {exc}", file=sys.stderr)
        return 1
    print(f"{count} resources loaded in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
