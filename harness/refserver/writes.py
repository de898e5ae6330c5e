"""Create, update and patch: what a write must satisfy before it is stored.

A write is refused, with the status FHIR gives it, when:
  - the body is not a resource of the URL's type, or an update's id differs from the URL (400);
  - the resource does not exist for update/patch (404), or update would create it (405: this
    server assigns ids; CapabilityStatement updateCreate = false);
  - If-Match names another version (412), or an update's meta.versionId is stale (409);
  - the result is not a valid ROR resource against the IG profiles, or references a resource
    this server does not hold (422, with the validator's issues).
The capacity PATCH of a Location follows capacity.py.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

from harness.fhir.validation import Validator
from harness.refserver.capacity import CapacityRules, is_capacity_path
from harness.refserver.jsonshape import JsonShape
from harness.refserver.outcome import FhirError
from harness.refserver.patch import Patcher, parse
from harness.refserver.store import Store, VersionConflict

#: The resource types this server stores (the ror-serveur CapabilityStatement's resources).
SERVED_TYPES = ("Location", "HealthcareService", "Organization", "Practitioner", "PractitionerRole", "Task")
_LITERAL = re.compile(r"^(%s)/([A-Za-z0-9\-.]{1,64})$" % "|".join(SERVED_TYPES))


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def _as_stored(resource: dict) -> dict:
    """What will be stored, for validation: the server sets meta.lastUpdated when it stores, so a
    body whose meta has none (a create with meta.profile, as the IG's examples) is judged with it,
    not refused for an element the client cannot give."""
    meta = resource.get("meta")
    if not isinstance(meta, dict) or "lastUpdated" in meta:
        return resource
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return {**resource, "meta": {**meta, "lastUpdated": now}}


class Writer:
    """Checks and stores writes; one per server."""

    def __init__(self, store: Store, validator: Validator | None, capacity: CapacityRules,
                 shape: JsonShape, *, honour_if_match: bool = True,
                 on_stored: Callable[[dict], None] = lambda resource: None) -> None:
        self.store = store
        self._on_stored = on_stored
        self.validator = validator
        self.capacity = capacity
        self.patcher = Patcher(shape)
        self._honour_if_match = honour_if_match

    # -- checks ----------------------------------------------------------------------------
    @staticmethod
    def _check_body(resource_type: str, body: Any) -> dict:
        if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
            raise FhirError(400, "invalid", f"the body must be a FHIR {resource_type} resource (JSON object with "
                                            "resourceType)")
        if body["resourceType"] != resource_type:
            raise FhirError(400, "invalid", f"the body is a {body['resourceType']} but the URL is for "
                                            f"{resource_type}", expression=[f"{body['resourceType']}.resourceType"])
        return body

    def _check_result(self, resource: dict) -> None:
        if self.validator is not None:
            result = self.validator.validate(_as_stored(resource))
            if not result.ok:
                outcome = result.to_operation_outcome()
                errors = [i for i in outcome["issue"] if i.get("severity") in ("error", "fatal")]
                raise FhirError(422, "processing", f"the {resource['resourceType']} is not a valid ROR resource "
                                                   f"({len(errors)} error(s), details in the following issues)",
                                issues=outcome["issue"])
        for reference in _references(resource):
            match = _LITERAL.match(reference)
            if match and self.store.get(match.group(1), match.group(2)) is None:
                raise FhirError(422, "processing", f"the reference {reference} does not resolve on this server")

    def _if_match(self, value: str | None) -> str | None:
        return value if self._honour_if_match else None

    def current(self, resource_type: str, resource_id: str) -> dict:
        found = self.store.get(resource_type, resource_id)
        if found is None:
            raise FhirError(404, "not-found", f"{resource_type}/{resource_id} is not known on this server")
        return found

    def _store(self, resource: dict, if_match: str | None) -> dict:
        try:
            stored = self.store.put(resource, if_match=self._if_match(if_match), now=datetime.now(timezone.utc))
        except VersionConflict as exc:
            raise FhirError(412, "conflict", f"If-Match {exc.expected} but the current version is {exc.current} "
                                             "(read the resource again, then retry)") from None
        self._on_stored(stored)
        return stored

    # -- interactions ----------------------------------------------------------------------
    def create(self, resource_type: str, body: Any) -> dict:
        resource = dict(self._check_body(resource_type, body))
        resource.pop("id", None)  # FHIR create: the server assigns the id
        meta = {k: v for k, v in (resource.get("meta") or {}).items() if k not in ("versionId", "lastUpdated")}
        if meta:
            resource["meta"] = meta
        else:
            resource.pop("meta", None)
        self._check_result(resource)
        return self._store(resource, None)

    def update(self, resource_type: str, resource_id: str, body: Any, if_match: str | None) -> dict:
        resource = self._check_body(resource_type, body)
        if resource.get("id") != resource_id:
            raise FhirError(400, "invalid", f"the body's id ({resource.get('id')!r}) must be the URL's id "
                                            f"({resource_id!r})", expression=[f"{resource_type}.id"])
        current = self.store.get(resource_type, resource_id)
        if current is None:
            raise FhirError(405, "not-supported", f"{resource_type}/{resource_id} does not exist and this server "
                                                  "does not create resources by update (ids are assigned by POST)")
        given = str((resource.get("meta") or {}).get("versionId", ""))
        if given and if_match is None and given != current["meta"]["versionId"]:
            raise FhirError(409, "conflict", f"the body is based on version {given} but the current version is "
                                             f"{current['meta']['versionId']}: read it again, then update")
        self._check_result(resource)
        return self._store(resource, if_match)

    def patch(self, resource_type: str, resource_id: str, body: Any, if_match: str | None) -> dict:
        current = self.current(resource_type, resource_id)
        return self._patch(current, body, if_match)

    def _patch(self, current: dict, body: Any, if_match: str | None) -> dict:
        is_location = current["resourceType"] == "Location"
        operations = parse(body, name_optional=is_capacity_path if is_location else (lambda path: False))
        if is_location:
            patched = self.capacity.apply(current, operations)
        else:
            patched = self.patcher.apply(current, operations)
        if patched.get("resourceType") != current["resourceType"] or patched.get("id") != current["id"]:
            raise FhirError(400, "invalid", "a patch cannot change the resource type or id")
        self._check_result(patched)
        return self._store(patched, if_match)

    def patch_location(self, location: dict, body: Any) -> dict:
        """The capacity PATCH once its Location is found (PATCH /Location?identifier=)."""
        return self._patch(location, body, None)
