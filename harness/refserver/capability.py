"""The server's own CapabilityStatement: the IG's `ror-serveur`, cut down to what runs here.

Why derived and not copied: ror-serveur is a `requirements` statement; a client reads
`/metadata` to learn what THIS server does. So every search parameter the search registry does
not implement is dropped (with the reason kept in the resource's documentation), the
interactions are the ones the routes serve, and the token endpoint is named in the security
description (not with SMART's `oauth-uris` extension: it requires an `authorize` endpoint, and this
server, like the ROR national API, only does client credentials).
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timezone

from harness import __version__
from harness.fhir.packages import PackageSet
from harness.fhir.search_corrections import SERVER_CAPABILITY

#: Interactions served per type (the IG's, plus vread: Location headers name a version).
INTERACTIONS = {
    "Location": ("read", "vread", "search-type", "create", "patch"),
    "HealthcareService": ("read", "vread", "search-type", "create", "update", "patch"),
    "Organization": ("read", "vread", "search-type", "create", "update", "patch"),
    "Practitioner": ("read", "vread", "search-type", "create", "update"),
    "PractitionerRole": ("read", "vread", "search-type", "create", "update"),
    "Task": ("read", "vread", "search-type", "create", "patch"),
}
CONTROL_PARAMS = ("_count", "_include", "_revinclude", "_sort")
EXPORT = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export|2.0.0"


def capability_statement(packages: PackageSet, supported: Callable[[str, str], bool], base_url: str) -> dict:
    """The CapabilityStatement of this server; `supported(type, name)` says if a parameter runs."""
    source = packages.resolve(SERVER_CAPABILITY, "CapabilityStatement")
    if source is None:
        raise RuntimeError(f"{SERVER_CAPABILITY} is not in the loaded packages")
    rest_in = source["rest"][0]
    resources = []
    for resource in rest_in["resource"]:
        rtype = resource["type"]
        if rtype not in INTERACTIONS:
            continue
        params, dropped, seen = [], [], set()
        for param in resource.get("searchParam", []):
            name = param["name"]
            if name in seen:
                continue  # ror-serveur lists Task _id twice
            seen.add(name)
            (params if supported(rtype, name) else dropped).append(copy.deepcopy(param))
        entry = {
            "type": rtype,
            "profile": resource.get("profile"),
            "interaction": [{"code": code} for code in INTERACTIONS[rtype]],
            "versioning": "versioned",
            "readHistory": False,
            "updateCreate": False,
            "conditionalCreate": False,
            "conditionalUpdate": False,
            "conditionalDelete": "not-supported",
            "searchParam": params,
        }
        if resource.get("searchInclude"):
            entry["searchInclude"] = [i.strip() for item in resource["searchInclude"] for i in item.split(",")]
        if resource.get("searchRevInclude"):
            entry["searchRevInclude"] = [i.strip() for item in resource["searchRevInclude"] for i in item.split(",")]
        notes = []
        if dropped:
            notes.append("Paramètres de ror-serveur non implémentés ici / not implemented here: "
                         + ", ".join(p["name"] for p in dropped))
        if rtype == "Location":
            notes.append("PATCH [base]/Location?identifier=… : PATCH capacitaire (sans les headers Ror-*)")
        if rtype == "HealthcareService":
            entry["operation"] = [{"name": "export", "definition": EXPORT}]
        if notes:
            entry["documentation"] = "\n".join(notes)
        resources.append(entry)
    rest = {
        "mode": "server",
        "documentation": rest_in.get("documentation"),
        "security": {
            "cors": False,
            "service": copy.deepcopy(rest_in.get("security", {}).get("service", [])),
            "description": f"OAuth2 client_credentials (POST {base_url}/token) ; Authorization: Bearer et les 4 headers "
                           "Ror-* sur chaque appel sauf le PATCH capacitaire ; mTLS optionnel (RFC 8705).",
        },
        "resource": resources,
        "searchParam": [copy.deepcopy(p) for p in rest_in.get("searchParam", []) if p["name"] in CONTROL_PARAMS],
        "operation": [{"name": "export", "definition": EXPORT}],
    }
    return {
        "resourceType": "CapabilityStatement",
        "id": "ror-harness-refserver",
        "url": f"{base_url}/metadata",
        "version": __version__,
        "name": "RORHarnessReferenceServer",
        "title": "ror-harness reference server",
        "status": "active",
        "experimental": True,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        "publisher": "ror-harness",
        "description": "Serveur de référence embarqué de ror-harness, dérivé du CapabilityStatement ror-serveur "
                       "de l'IG ROR 0.7.0 : seules les capacités réellement implémentées sont déclarées.",
        "kind": "instance",
        "instantiates": [source["url"] + "|" + source.get("version", "")],
        "software": {"name": "ror-harness refserver", "version": __version__},
        "implementation": {"description": "ror-harness reference ROR server", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "patchFormat": ["application/fhir+json"],
        "implementationGuide": [ig for ig in source.get("implementationGuide", []) if "ror" in ig],
        "rest": [rest],
    }
