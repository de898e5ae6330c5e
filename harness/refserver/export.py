"""Asynchronous bulk export (`$export`), as the IG (ST2-S1bis/S1ter) and the national API use it.

Flow (FHIR async pattern + Bulk Data 2.0): kick-off answers 202 with
`Content-Location: [base]/$export-poll-status?_jobId=…`; polling answers 202 with `X-Progress`
while the job runs, then 200 with the manifest (`output[].url` per NDJSON file, one file per
`export_file_size` resources: "un fichier par tranche de résultats"); files are served by the
app to the client that asked, with its token.

Parameters: `_type`, `_since`, `_typeFilter`, `_outputFormat` (the national API accepts
application/fhir+json and application/json, Bulk Data requires application/fhir+ndjson: all
produce NDJSON), `includeAssociatedData=_myCompleteExtract` (with HealthcareService: also its
organizations and their parents, locations, practitioner roles and practitioners). The job
runs in a thread; it reads the store through its own snapshot (SQLite read transaction), so the
export is consistent as of its transactionTime.
"""
from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qsl

import orjson

from harness.refserver.outcome import FhirError
from harness.refserver.security import Access
from harness.refserver.store import Store, format_instant
from harness.refserver.writes import SERVED_TYPES

OUTPUT_FORMATS = frozenset({"application/fhir+ndjson", "application/ndjson", "ndjson",
                            "application/fhir+json", "application/json"})
COMPLETE_EXTRACT = "_myCompleteExtract"
KNOWN_PARAMS = frozenset({"_type", "_since", "_typeFilter", "_outputFormat", "includeAssociatedData"})

#: ids matching a `_typeFilter` query: (type, params) -> ids (the search engine, under the server's lock)
Matcher = Callable[[str, list[tuple[str, str]]], set[str]]
#: may this caller see this resource (access profile)?
Visible = Callable[[dict, Access], bool]


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FhirError(400, "invalid", f"_since={text} is not a FHIR instant (e.g. 2024-01-31T12:00:00Z)") from None
    if moment.tzinfo is None:
        raise FhirError(400, "invalid", f"_since={text} needs a time zone (FHIR instant)")
    return moment


@dataclass
class ExportJob:
    id: str
    request: str
    owner: str
    access: Access
    types: list[str]
    since: datetime | None
    filters: dict[str, list[list[tuple[str, str]]]]
    associated: bool
    started: float = field(default_factory=time.monotonic)
    transaction_time: str = field(default_factory=lambda: format_instant(datetime.now(timezone.utc)))
    status: str = "in-progress"  # in-progress | completed | failed | cancelled
    progress: str = "queued"
    output: list[dict] = field(default_factory=list)
    failure: str = ""


def _references(resource: dict, key: str) -> list[str]:
    value = resource.get(key)
    items = value if isinstance(value, list) else [value] if value else []
    return [i["reference"] for i in items if isinstance(i, dict) and isinstance(i.get("reference"), str)]


class ExportManager:
    """Kick-off, status, files and cancellation of export jobs."""

    def __init__(self, store: Store, directory: Path, *, lock: threading.Lock, matcher: Matcher,
                 visible: Visible, file_size: int, min_seconds: float, faults: frozenset[str] = frozenset()) -> None:
        self.store = store
        self.directory = directory
        self._lock = lock
        self._matcher = matcher
        self._visible = visible
        self._file_size = file_size
        self._min_seconds = min_seconds
        self._faults = faults  # export-associated-missing, export-typefilter-ignored, export-since-ignored
        self._jobs: dict[str, ExportJob] = {}
        self._jobs_lock = threading.Lock()

    # -- kick-off ------------------------------------------------------------------------
    def start(self, params: list[tuple[str, str]], access: Access, request_url: str,
              level_type: str | None) -> ExportJob:
        unknown = sorted({k for k, _ in params} - KNOWN_PARAMS)
        if unknown:
            raise FhirError(400, "not-supported", f"$export parameter(s) not supported: {', '.join(unknown)}")
        values: dict[str, list[str]] = {}
        for key, value in params:
            values.setdefault(key, []).append(value)
        fmt = values.get("_outputFormat", ["application/fhir+ndjson"])[-1]
        if fmt not in OUTPUT_FORMATS:
            raise FhirError(400, "not-supported", f"_outputFormat={fmt} is not supported (application/fhir+ndjson, "
                                                  "application/fhir+json or application/json: NDJSON files)")
        types = [t.strip() for v in values.get("_type", []) for t in v.split(",") if t.strip()]
        for rtype in types:
            if rtype not in SERVED_TYPES:
                raise FhirError(400, "not-supported", f"_type={rtype}: this server exports {', '.join(SERVED_TYPES)}")
        if level_type:
            if types and types != [level_type]:
                raise FhirError(400, "invalid", f"/{level_type}/$export exports {level_type} only "
                                                f"(_type={','.join(types)})")
            types = [level_type]
        types = list(dict.fromkeys(types)) or list(SERVED_TYPES)
        since = _instant(values["_since"][-1]) if "_since" in values else None
        filters: dict[str, list[list[tuple[str, str]]]] = {}
        for text in values.get("_typeFilter", []):
            rtype, sep, query = text.partition("?")
            if not sep or rtype not in types:
                raise FhirError(400, "invalid", f"_typeFilter={text}: expected [type]?[search parameters] for one of "
                                                f"the exported types ({', '.join(types)})")
            filters.setdefault(rtype, []).append(parse_qsl(query, keep_blank_values=True))
        associated_values = values.get("includeAssociatedData", [])
        associated = False
        for value in associated_values:
            for item in value.split(","):
                if item.strip() != COMPLETE_EXTRACT:
                    raise FhirError(400, "not-supported", f"includeAssociatedData={item}: only {COMPLETE_EXTRACT} is "
                                                          "supported")
                associated = True
        job = ExportJob(str(uuid.uuid4()), request_url, access.client_id, access, types, since, filters, associated)
        with self._jobs_lock:
            self._jobs[job.id] = job
        threading.Thread(target=self._run, args=(job,), name=f"export-{job.id}", daemon=True).start()
        return job

    # -- status ----------------------------------------------------------------------------
    def job(self, job_id: str | None, access: Access) -> ExportJob:
        with self._jobs_lock:
            job = self._jobs.get(job_id or "")
        if job is None or job.owner != access.client_id or job.status == "cancelled":
            raise FhirError(404, "not-found", f"no export job {job_id!r} for this client")
        return job

    def cancel(self, job_id: str | None, access: Access) -> None:
        job = self.job(job_id, access)
        job.status = "cancelled"
        shutil.rmtree(self.directory / job.id, ignore_errors=True)

    def file(self, job_id: str, name: str, access: Access) -> Path:
        job = self.job(job_id, access)
        if job.status != "completed" or not any(o["url"].endswith(f"/{job.id}/{name}") for o in job.output):
            raise FhirError(404, "not-found", f"no export file {name!r} in job {job_id}")
        return self.directory / job.id / name

    @staticmethod
    def manifest(job: ExportJob, base_url: str) -> dict:
        return {"transactionTime": job.transaction_time, "request": job.request, "requiresAccessToken": True,
                "output": [{**o, "url": base_url + o["url"]} for o in job.output], "error": []}

    # -- the job ---------------------------------------------------------------------------
    def _run(self, job: ExportJob) -> None:
        try:
            self._export(job)
            remaining = self._min_seconds - (time.monotonic() - job.started)
            if remaining > 0:
                time.sleep(remaining)
            if job.status == "in-progress":
                job.status, job.progress = "completed", "100%"
        except Exception as exc:  # reported to the poller as an OperationOutcome, never lost
            job.status, job.failure = "failed", f"{exc.__class__.__name__}: {exc}"

    def _selected(self, job: ExportJob, rtype: str) -> Iterator[dict]:
        allowed: set[str] | None = None
        if rtype in job.filters and "export-typefilter-ignored" not in self._faults:
            with self._lock:
                allowed = set().union(*(self._matcher(rtype, query) for query in job.filters[rtype]))
        for resource in self.store.iter_type(rtype):
            if allowed is not None and resource["id"] not in allowed:
                continue
            if job.since is not None and "export-since-ignored" not in self._faults and _instant(resource["meta"]["lastUpdated"]) <= job.since:
                continue
            if self._visible(resource, job.access):
                yield resource

    def _export(self, job: ExportJob) -> None:
        folder = self.directory / job.id
        folder.mkdir(parents=True, exist_ok=True)
        exported: dict[str, list[dict]] = {}
        for done, rtype in enumerate(job.types):
            job.progress = f"{100 * done // len(job.types)}% ({rtype})"
            exported[rtype] = list(self._selected(job, rtype))
        if job.associated and "HealthcareService" in exported and "export-associated-missing" not in self._faults:
            for rtype, resources in self._associated(exported["HealthcareService"], job).items():
                known = {r["id"] for r in exported.get(rtype, [])}
                exported.setdefault(rtype, []).extend(r for r in resources if r["id"] not in known)
        for rtype, resources in exported.items():
            for number, start in enumerate(range(0, len(resources), self._file_size), 1):
                if job.status != "in-progress":
                    return
                chunk = resources[start:start + self._file_size]
                name = f"{rtype}-{number}.ndjson"
                (folder / name).write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in chunk))
                job.output.append({"type": rtype, "url": f"/$export-file/{job.id}/{name}", "count": len(chunk)})

    def _associated(self, services: list[dict], job: ExportJob) -> dict[str, list[dict]]:
        """Organizations (with their partOf chain), Locations, PractitionerRoles, Practitioners."""
        found: dict[str, dict[str, dict]] = {"Organization": {}, "Location": {}, "PractitionerRole": {},
                                             "Practitioner": {}}

        def add(reference: str) -> dict | None:
            rtype, _, rid = reference.partition("/")
            if rtype not in found or rid in found[rtype]:
                return None
            resource = self.store.get(rtype, rid)
            if resource is not None and self._visible(resource, job.access):
                found[rtype][rid] = resource
            return resource

        pending = [ref for s in services for ref in _references(s, "providedBy")]
        while pending:
            organization = add(pending.pop())
            if organization is not None:
                pending.extend(_references(organization, "partOf"))
        for service in services:
            for ref in _references(service, "location"):
                add(ref)
        service_refs = {f"HealthcareService/{s['id']}" for s in services}
        for role in self.store.iter_type("PractitionerRole"):
            if service_refs.intersection(_references(role, "healthcareService")) and self._visible(role, job.access):
                found["PractitionerRole"][role["id"]] = role
                for ref in _references(role, "practitioner"):
                    add(ref)
        return {rtype: list(items.values()) for rtype, items in found.items()}
