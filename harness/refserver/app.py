"""The reference server's HTTP layer: FHIR REST routes of the `ror-serveur` CapabilityStatement.

Each route runs the same gate, in this order (each failure is an OperationOutcome):
authentication (401), the Ror-* headers (400), content negotiation (406), the request body
(415 / 413 / 400), then the interaction, under the server's work lock. The interactions
themselves live in writes.py, searching.py, export.py; this module only maps HTTP to them.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from harness.refserver.capability import INTERACTIONS
from harness.refserver.config import SCOPE_READ, SCOPE_WRITE, ServerConfig
from harness.refserver.formats import FHIR_NDJSON, body_kind, negotiate, parse_json, read_body
from harness.refserver.outcome import FhirError
from harness.refserver.security import Access, OAuthError, check_ror_headers, require_scope
from harness.refserver.state import ServerState
from harness.refserver.writes import SERVED_TYPES

log = logging.getLogger(__name__)
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
#: Parameters that shape the response rather than select resources.
FORMAT_PARAMS = ("_format", "_pretty")

Handler = Callable[[Request, ServerState], Awaitable[Response]]


def _state(request: Request) -> ServerState:
    return request.app.state.server


def base_url(request: Request) -> str:
    configured = _state(request).config.base_url
    return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")


def _query(request: Request) -> list[tuple[str, str]]:
    return request.query_params.multi_items()


def _pretty(request: Request) -> bool:
    return request.query_params.get("_pretty") == "true"


def fhir_route(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Every route: FhirError -> OperationOutcome; anything unexpected -> 500, never a traceback."""

    async def endpoint(request: Request) -> Response:
        state = _state(request)
        try:
            return await handler(request, state)
        except FhirError as exc:
            return state.renderer.error(exc)
        except Exception:  # the client gets an OperationOutcome; the log keeps the traceback
            log.exception("internal error on %s %s", request.method, request.url.path)
            return state.renderer.error(FhirError(500, "exception", "internal server error (logged by the server)"))

    return endpoint


async def _gate(request: Request, state: ServerState, *, scope: str, capacity_patch: bool = False) -> Access:
    """Authentication, Ror-* headers and content negotiation, in that order."""
    security = state.config.security
    faults = state.faults
    if security.require_token and "accept-missing-token" not in faults:
        access = state.tokens.verify(request.headers.get("authorization"), state.peers.get(request.scope.get("client")))
        if not (scope == SCOPE_WRITE and "write-scope-unchecked" in faults):
            require_scope(access, scope)
    elif request.headers.get("authorization"):
        access = state.tokens.verify(request.headers["authorization"], state.peers.get(request.scope.get("client")))
    else:
        access = Access("anonymous", 1, frozenset({SCOPE_READ, SCOPE_WRITE}))
    if security.require_ror_headers and "ignore-ror-headers" not in faults:
        check_ror_headers(request.headers, capacity_patch=capacity_patch)
    if "xml-not-406" not in faults:
        negotiate(request.query_params.get("_format"), request.headers.get("accept"))
    return access


async def _body(request: Request, state: ServerState, *, form_allowed: bool = False) -> tuple[str, bytes]:
    kind = body_kind(request.headers.get("content-type"), form_allowed=form_allowed)
    data = await read_body(request.stream(), request.headers.get("content-length"), state.config.max_body_bytes)
    return kind, data


async def _locked(state: ServerState, func: Callable[..., Any], *args: Any) -> Any:
    def run() -> Any:
        with state.work_lock:
            return func(*args)

    return await run_in_threadpool(run)


def _check_type(resource_type: str) -> None:
    if resource_type not in SERVED_TYPES:
        raise FhirError(404, "not-supported", f"resource type {resource_type!r} is not served here "
                                              f"(served: {', '.join(SERVED_TYPES)})")


def _not_allowed(resource_type: str, interaction: str, allowed: list[str]) -> FhirError:
    return FhirError(405, "not-supported", f"{interaction} is not supported on {resource_type} (ror-serveur)",
                     headers={"Allow": ", ".join(allowed)})


def _allowed_methods(resource_type: str, level: str) -> list[str]:
    interactions = INTERACTIONS[resource_type]
    if level == "type":
        methods = ["GET", "POST"]
        if resource_type == "Location":
            methods.append("PATCH")
        return methods
    methods = ["GET"]
    methods += ["PUT"] if "update" in interactions else []
    methods += ["PATCH"] if "patch" in interactions else []
    return methods


def _visible_or_404(state: ServerState, access: Access, resource: dict | None, label: str) -> dict:
    if resource is None or not state.visible(resource, access):
        raise FhirError(404, "not-found", f"{label} is not known on this server")
    return resource


def _resource_response(request: Request, state: ServerState, resource: dict, status: int = 200,
                       extra: dict[str, str] | None = None) -> Response:
    headers = {**state.renderer.version_headers(resource), **(extra or {})}
    if "return=minimal" in request.headers.get("prefer", ""):
        return Response(status_code=status, headers=headers)
    return state.renderer.json(state.renderer.resource(resource), status, headers, _pretty(request))


# -- routes ---------------------------------------------------------------------------------------


@fhir_route
async def metadata(request: Request, state: ServerState) -> Response:
    if request.method not in ("GET", "HEAD"):
        raise FhirError(405, "not-supported", "/metadata is read with GET", headers={"Allow": "GET"})
    if "xml-not-406" not in state.faults:
        negotiate(request.query_params.get("_format"), request.headers.get("accept"))
    return state.renderer.json(state.capability(base_url(request)), pretty=_pretty(request))


async def token(request: Request) -> Response:
    """OAuth2 token endpoint (RFC 6749 §4.4): JSON errors as RFC 6749 §5.2, not OperationOutcome."""
    state = _state(request)
    try:
        if request.method != "POST":
            raise OAuthError(405, "invalid_request", "the token endpoint takes POST")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
            raise OAuthError(400, "invalid_request", "send application/x-www-form-urlencoded (RFC 6749 §4.4.2)")
        data = await read_body(request.stream(), request.headers.get("content-length"), 64 * 1024)
        form = dict(parse_qsl(data.decode("utf-8", "replace"), keep_blank_values=True))
        answer = state.tokens.issue(form, request.headers.get("authorization"),
                                    state.peers.get(request.scope.get("client")))
    except OAuthError as exc:
        headers = {"WWW-Authenticate": 'Basic realm="ror-harness"'} if exc.status == 401 else {}
        return JSONResponse(exc.body(), exc.status, headers={**headers, "Cache-Control": "no-store"})
    except FhirError as exc:  # body too large
        return JSONResponse({"error": "invalid_request", "error_description": exc.diagnostics}, exc.status)
    return JSONResponse(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@fhir_route
async def type_level(request: Request, state: ServerState) -> Response:
    resource_type = request.path_params["type"]
    _check_type(resource_type)
    if request.method == "GET":
        access = await _gate(request, state, scope=SCOPE_READ)
        return await _search(request, state, access, resource_type, _query(request))
    if request.method == "POST":
        access = await _gate(request, state, scope=SCOPE_WRITE)
        _, data = await _body(request, state)
        stored = await _locked(state, state.writer.create, resource_type, parse_json(data))
        if "create-200" in state.faults:
            return _resource_response(request, state, stored, 200)
        location = f"{base_url(request)}/{resource_type}/{stored['id']}/_history/{stored['meta']['versionId']}"
        return _resource_response(request, state, stored, 201, {"Location": location})
    if request.method == "PATCH" and resource_type == "Location":
        return await _capacity_patch(request, state)
    raise _not_allowed(resource_type, request.method, _allowed_methods(resource_type, "type"))


@fhir_route
async def search_post(request: Request, state: ServerState) -> Response:
    resource_type = request.path_params["type"]
    _check_type(resource_type)
    if request.method != "POST":
        raise _not_allowed(resource_type, f"{request.method} _search", ["POST"])
    access = await _gate(request, state, scope=SCOPE_READ)
    kind, data = await _body(request, state, form_allowed=True)
    if kind != "form":
        raise FhirError(415, "not-supported", "POST _search takes application/x-www-form-urlencoded parameters")
    params = _query(request) + parse_qsl(data.decode("utf-8", "replace"), keep_blank_values=True)
    return await _search(request, state, access, resource_type, params)


async def _search(request: Request, state: ServerState, access: Access, resource_type: str,
                  params: list[tuple[str, str]]) -> Response:
    strict = "handling=strict" in request.headers.get("prefer", "").replace(" ", "")
    selecting = [(k, v) for k, v in params if k not in FORMAT_PARAMS]
    bundle = await _locked(state, state.searcher.search, resource_type, selecting, access,
                           base_url(request), strict)
    return state.renderer.json(bundle, pretty=_pretty(request))


async def _capacity_patch(request: Request, state: ServerState) -> Response:
    """PATCH [base]/Location?identifier=… — the ROR capacity PATCH (no Ror-* headers)."""
    await _gate(request, state, scope=SCOPE_WRITE, capacity_patch=True)
    params = [(k, v) for k, v in _query(request) if k not in FORMAT_PARAMS]
    if len(params) != 1 or params[0][0] != "identifier" or not params[0][1]:
        raise FhirError(400, "invalid", "the conditional PATCH of Location takes exactly one parameter: "
                                        "identifier=IdNatStructEtab/identifiant_externe")
    identifier = params[0][1]
    _, data = await _body(request, state)
    body = parse_json(data)

    def run() -> dict:
        ids = sorted(state.searcher.ids("Location", [("identifier", identifier)]))
        if not ids:
            raise FhirError(404, "not-found", f"La Location avec l'identifiant externe de synchro OU l'identifiant "
                                              f"unique de saisie : '{identifier}' n'a pas été trouvée.",
                            expression=["Location"])
        if len(ids) > 1 and "patch-multiple-first" not in state.faults:
            raise FhirError(412, "multiple-matches", f"La Location recherchée n'est pas unique, il y a "
                                                     f"'{len(ids)}' résultats", expression=["Location"])
        return state.writer.patch_location(state.writer.current("Location", ids[0]), body)

    stored = await _locked(state, run)
    return _resource_response(request, state, stored)


@fhir_route
async def instance_level(request: Request, state: ServerState) -> Response:
    resource_type, resource_id = request.path_params["type"], request.path_params["id"]
    _check_type(resource_type)
    interactions = INTERACTIONS[resource_type]
    label = f"{resource_type}/{resource_id}"
    if request.method in ("GET", "HEAD"):
        access = await _gate(request, state, scope=SCOPE_READ)
        found = await _locked(state, state.store.get, resource_type, resource_id)
        return _resource_response(request, state, _visible_or_404(state, access, found, label))
    if request.method == "PUT" and "update" in interactions:
        access = await _gate(request, state, scope=SCOPE_WRITE)
        _, data = await _body(request, state)
        body = parse_json(data)

        def update() -> dict:
            current = state.store.get(resource_type, resource_id)
            if current is not None:  # a missing one is the writer's 405 (no update-as-create)
                _visible_or_404(state, access, current, label)
            return state.writer.update(resource_type, resource_id, body, request.headers.get("if-match"))

        return _resource_response(request, state, await _locked(state, update))
    if request.method == "PATCH" and "patch" in interactions:
        access = await _gate(request, state, scope=SCOPE_WRITE)
        _, data = await _body(request, state)
        body = parse_json(data)

        def patch() -> dict:
            _visible_or_404(state, access, state.store.get(resource_type, resource_id), label)
            return state.writer.patch(resource_type, resource_id, body, request.headers.get("if-match"))

        return _resource_response(request, state, await _locked(state, patch))
    raise _not_allowed(resource_type, request.method, _allowed_methods(resource_type, "instance"))


@fhir_route
async def vread(request: Request, state: ServerState) -> Response:
    resource_type, resource_id = request.path_params["type"], request.path_params["id"]
    version = request.path_params["vid"]
    _check_type(resource_type)
    if request.method not in ("GET", "HEAD"):
        raise _not_allowed(resource_type, f"{request.method} on a version", ["GET"])
    access = await _gate(request, state, scope=SCOPE_READ)
    found = await _locked(state, state.store.vread, resource_type, resource_id, version)
    label = f"{resource_type}/{resource_id}/_history/{version}"
    return _resource_response(request, state, _visible_or_404(state, access, found, label))


# -- $export --------------------------------------------------------------------------------------


@fhir_route
async def export_kickoff(request: Request, state: ServerState) -> Response:
    level_type = request.path_params.get("type")
    if level_type is not None:
        _check_type(level_type)
    if request.method != "GET":
        raise FhirError(405, "not-supported", "$export is started with GET", headers={"Allow": "GET"})
    access = await _gate(request, state, scope=SCOPE_READ)
    if "respond-async" not in request.headers.get("prefer", ""):
        raise FhirError(400, "required", "$export is asynchronous: send the header 'Prefer: respond-async' "
                                         "(Bulk Data; IG ST2-S1bis)")
    params = [(k, v) for k, v in _query(request) if k not in FORMAT_PARAMS]
    job = state.exports.start(params, access, str(request.url), level_type)
    headers = {} if "export-no-content-location" in state.faults else {
        "Content-Location": f"{base_url(request)}/$export-poll-status?_jobId={job.id}"}
    return Response(status_code=202, headers=headers)


@fhir_route
async def export_status(request: Request, state: ServerState) -> Response:
    access = await _gate(request, state, scope=SCOPE_READ)
    job_id = request.query_params.get("_jobId")
    if request.method == "DELETE":
        state.exports.cancel(job_id, access)
        return Response(status_code=202)
    if request.method != "GET":
        raise FhirError(405, "not-supported", "poll with GET, cancel with DELETE", headers={"Allow": "GET, DELETE"})
    job = state.exports.job(job_id, access)
    if job.status == "in-progress":
        return Response(status_code=202, headers={"X-Progress": job.progress, "Retry-After": "1"})
    if job.status == "failed":
        raise FhirError(500, "exception", f"the export failed: {job.failure}")
    return JSONResponse(state.exports.manifest(job, base_url(request)))


@fhir_route
async def export_file(request: Request, state: ServerState) -> Response:
    access = await _gate(request, state, scope=SCOPE_READ)
    path = state.exports.file(request.path_params["job"], request.path_params["name"], access)
    return FileResponse(path, media_type=FHIR_NDJSON)


@fhir_route
async def not_found(request: Request, state: ServerState) -> Response:
    raise FhirError(404, "not-found", f"no FHIR endpoint at {request.url.path}")


async def _http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (no route matched) as OperationOutcomes too."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    return _state(request).renderer.error(FhirError(status, "not-found" if status == 404 else "exception",
                                                    f"no FHIR endpoint at {request.url.path}"))


def create_app(config: ServerConfig) -> Starlette:
    """The ASGI app of one reference server; `app.state.server` holds its parts (close() it)."""
    state = ServerState(config)
    routes = [
        Route("/metadata", metadata, methods=ALL_METHODS),
        Route("/token", token, methods=ALL_METHODS),
        Route("/$export", export_kickoff, methods=ALL_METHODS),
        Route("/$export-poll-status", export_status, methods=ALL_METHODS),
        Route("/$export-file/{job}/{name}", export_file, methods=ALL_METHODS),
        Route("/{type}/$export", export_kickoff, methods=ALL_METHODS),
        Route("/{type}/_search", search_post, methods=ALL_METHODS),
        Route("/{type}/{id}/_history/{vid}", vread, methods=ALL_METHODS),
        Route("/{type}/{id}", instance_level, methods=ALL_METHODS),
        Route("/{type}", type_level, methods=ALL_METHODS),
        Route("/{rest:path}", not_found, methods=ALL_METHODS),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_exception})
    app.state.server = state
    return app
