"""Turning results and errors into HTTP responses, with the faults that bend them.

One place decides the media type, the ETag / Last-Modified headers and the error body, so that
the clean server is consistent everywhere and each output fault changes exactly one thing.
"""
from __future__ import annotations

import copy
from datetime import datetime, timezone

import orjson
from starlette.responses import Response

from harness.refserver.formats import FHIR_JSON
from harness.refserver.outcome import FhirError

#: The element the `unknown-element` fault adds: not defined by FHIR for any resource.
UNKNOWN_ELEMENT = "rorHarnessUnknownElement"
#: The code the `code-outside-valueset` fault writes: in no NOS value set.
OUTSIDE_CODE = "ZZZ-hors-jeu-de-valeurs"
#: What the `partof-dangling` fault puts before the parent's id: an id this server does not serve.
INTERNAL_ID_PREFIX = "ror-interne-"


class Renderer:
    """Builds responses for one server; `faults` are the active fault names."""

    def __init__(self, faults: frozenset[str]) -> None:
        self.faults = faults

    def _media_type(self) -> str:
        return "application/json" if "wrong-content-type" in self.faults else FHIR_JSON

    def json(self, body: dict, status: int = 200, headers: dict[str, str] | None = None,
             pretty: bool = False) -> Response:
        option = orjson.OPT_INDENT_2 if pretty else 0
        return Response(orjson.dumps(body, option=option), status_code=status, headers=headers,
                        media_type=self._media_type())

    def error(self, exc: FhirError) -> Response:
        if "error-not-outcome" in self.faults:
            return Response(f"Error {exc.status}: {exc.diagnostics}\n", status_code=exc.status,
                            headers=exc.headers, media_type="text/plain")
        return self.json(exc.outcome(), exc.status, exc.headers)

    def version_headers(self, resource: dict) -> dict[str, str]:
        """ETag (W/"versionId") and Last-Modified (HTTP date of meta.lastUpdated)."""
        meta = resource.get("meta") or {}
        headers: dict[str, str] = {}
        if meta.get("versionId") and "etag-missing" not in self.faults:
            headers["ETag"] = f'W/"{meta["versionId"]}"'
        if meta.get("lastUpdated"):
            headers["Last-Modified"] = http_date(meta["lastUpdated"])
        return headers

    def resource(self, resource: dict) -> dict:
        """A resource as the server shows it (output faults applied to a copy)."""
        if not self.faults & {"meta-lastupdated-missing", "unknown-element", "code-outside-valueset", "partof-dangling"}:
            return resource
        shown = copy.deepcopy(resource)
        if "meta-lastupdated-missing" in self.faults:
            (shown.get("meta") or {}).pop("lastUpdated", None)
        if "unknown-element" in self.faults:
            shown[UNKNOWN_ELEMENT] = "ror-harness fault"
        if "code-outside-valueset" in self.faults:
            types = shown.get("type")
            first = types[0] if isinstance(types, list) and types else types
            codings = first.get("coding") if isinstance(first, dict) else None
            if codings:
                codings[0]["code"] = OUTSIDE_CODE
        part_of = shown.get("partOf") if shown.get("resourceType") == "Organization" else None
        if "partof-dangling" in self.faults and isinstance(part_of, dict) and "/" in part_of.get("reference", ""):
            kind, _, rid = part_of["reference"].rpartition("/")
            part_of["reference"] = f"{kind}/{INTERNAL_ID_PREFIX}{rid}"
        return shown


def http_date(instant: str) -> str:
    """RFC 9110 HTTP-date of a FHIR instant (Last-Modified)."""
    moment = datetime.fromisoformat(instant.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
