"""The recorder: an ASGI middleware around the reference server's app that writes down every
request (and its answer), and misbehaves on purpose when a scenario asks it to.

With no misbehaviour switched on the wrapped app answers exactly as the reference server does:
the recorder only reads. Misbehaviours are set per scenario (`Recorder.arm`), so one mock serves
a whole run; `take()` hands the scenario its calls and starts a clean list.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

#: The extension the mock adds to every resource when `unknown_extension` is on.
UNKNOWN_EXTENSION = "https://ror-harness.example/fhir/StructureDefinition/extension-inconnue"
#: A code no NOS value set holds, added when `new_code` is on.
NEW_CODE = {"system": "https://mos.esante.gouv.fr/NOS/TRE_R210-ActeSpecifique/FHIR/TRE-R210-ActeSpecifique",
            "code": "RORH-NOUVEAU", "display": "Code apparu après la version connue du jeu de valeurs"}


#: OperationOutcome issue.code of an imposed error, by status, when the scenario names none.
DEFAULT_ISSUE_CODES = {401: "login", 403: "forbidden", 404: "not-found", 429: "throttled"}


@dataclass(frozen=True)
class Trouble:
    """A misbehaviour on requests whose path starts with `path` (and of `method`, when given; never
    /token): the first `after` go through, the next `times` get it."""

    status: int = 503
    retry_after: int | None = None
    times: int = 1
    path: str = "/"
    diagnostics: str = "erreur simulée par le banc"
    delay_s: float = 0.0
    method: str | None = None
    after: int = 0
    code: str | None = None
    expression: str | None = None

    def outcome(self) -> dict:
        issue = {"severity": "error", "code": self.code or DEFAULT_ISSUE_CODES.get(self.status, "exception"),
                 "diagnostics": self.diagnostics}
        if self.expression:
            issue["expression"] = [self.expression]
        return {"resourceType": "OperationOutcome", "issue": [issue]}

    def headers(self) -> list[tuple[bytes, bytes]]:
        extra = [(b"retry-after", str(self.retry_after).encode())] if self.retry_after is not None else []
        if self.status == 401:  # RFC 6750 challenge: the token is no longer accepted
            extra.append((b"www-authenticate", b'Bearer error="invalid_token"'))
        return extra


@dataclass(frozen=True)
class Misbehaviour:
    """What the mock does wrong on purpose for one scenario (all off: the reference server)."""

    page_size: int | None = None  # caps _count on searches, so a search has several pages
    troubles: tuple[Trouble, ...] = ()  # 429 / 503 with Retry-After, OperationOutcome errors, slow answers
    cyclic_next: bool = False  # the second page's next link points back to the first page
    unknown_extension: bool = False
    new_code: bool = False

    @property
    def off(self) -> bool:
        return self == Misbehaviour()


@dataclass
class Call:
    """One request as received and the answer it got (raw: redaction happens when reported)."""

    index: int
    started: float  # monotonic seconds
    finished: float
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""
    misbehaviour: str = ""  # what the mock did on purpose to this answer, in words

    @property
    def url_key(self) -> tuple[str, str, tuple]:
        return self.method, self.path, tuple(sorted(self.query))

    def json(self) -> Any:
        try:
            return json.loads(self.response_body)
        except ValueError:
            return None


class Recorder:
    """ASGI middleware: records, and applies the armed misbehaviour."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._behaviour = Misbehaviour()
        self._used: dict[int, int] = {}
        self._first_page: dict[str, str] = {}

    # -- control (any thread) ------------------------------------------------------------------
    def arm(self, behaviour: Misbehaviour) -> None:
        with self._lock:
            self._behaviour = behaviour
            self._used = {}
            self._first_page = {}
            self._calls = []

    def take(self) -> list[Call]:
        with self._lock:
            calls, self._calls = self._calls, []
            self._behaviour, self._used, self._first_page = Misbehaviour(), {}, {}
        return calls

    def count(self) -> int:
        with self._lock:
            return len(self._calls)

    # -- ASGI ------------------------------------------------------------------------------------
    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        with self._lock:
            behaviour = self._behaviour
            call = Call(len(self._calls), time.monotonic(), 0.0, scope["method"], scope["path"],
                        parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True),
                        {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}, body)
            self._calls.append(call)
            trouble = self._trouble(behaviour, call)
        if trouble is not None and trouble.delay_s:
            await asyncio.sleep(trouble.delay_s)
            call.misbehaviour = f"réponse retardée de {trouble.delay_s:g} s"
        if trouble is not None and not trouble.delay_s:
            await self._refuse(call, trouble, send)
            return
        scope = self._rewrite(scope, behaviour, call)
        status, headers, out = await self._inner(scope, body)
        out, note = self._alter(behaviour, call, out, headers)
        if note:
            call.misbehaviour = ", ".join(filter(None, (call.misbehaviour, note)))
            headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(out)).encode()))
        call.status, call.response_body, call.finished = status, out, time.monotonic()
        call.response_headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers}
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": out})

    def _trouble(self, behaviour: Misbehaviour, call: Call) -> Trouble | None:
        if call.path == "/token":
            return None
        for i, trouble in enumerate(behaviour.troubles):
            if not call.path.startswith(trouble.path) or trouble.method not in (None, call.method):
                continue
            seen = self._used.get(i, 0)
            self._used[i] = seen + 1
            if trouble.after <= seen < trouble.after + trouble.times:
                return trouble
        return None

    async def _refuse(self, call: Call, trouble: Trouble, send: Any) -> None:
        out = json.dumps(trouble.outcome(), ensure_ascii=False).encode()
        headers = [(b"content-type", b"application/fhir+json"), (b"content-length", str(len(out)).encode()),
                   *trouble.headers()]
        call.status, call.response_body, call.finished = trouble.status, out, time.monotonic()
        call.response_headers = {k.decode(): v.decode() for k, v in headers}
        call.misbehaviour = f"réponse {trouble.status} imposée" + (
            f" (Retry-After: {trouble.retry_after})" if trouble.retry_after is not None else "")
        await send({"type": "http.response.start", "status": trouble.status, "headers": headers})
        await send({"type": "http.response.body", "body": out})

    @staticmethod
    def _rewrite(scope: dict, behaviour: Misbehaviour, call: Call) -> dict:
        """page_size: a search asks for at most that many matches per page."""
        if behaviour.page_size is None or call.method != "GET" or call.path.count("/") != 1 or \
                call.path in ("/metadata", "/token") or call.path.startswith("/$"):
            return scope
        query = [(k, v) for k, v in call.query if k != "_count"]
        counts = [int(v) for k, v in call.query if k == "_count" and v.isdigit()]
        size = min([behaviour.page_size, *counts])
        query.append(("_count", str(size)))
        return {**scope, "query_string": urlencode(query).encode("latin-1")}

    async def _inner(self, scope: dict, body: bytes) -> tuple[int, list, bytes]:
        sent = False

        async def receive() -> dict:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        answer: dict[str, Any] = {"status": 500, "headers": [], "body": b""}

        async def capture(message: dict) -> None:
            if message["type"] == "http.response.start":
                answer["status"], answer["headers"] = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")

        await self.app(scope, receive, capture)
        return answer["status"], answer["headers"], answer["body"]

    def _alter(self, behaviour: Misbehaviour, call: Call, out: bytes, headers: list) -> tuple[bytes, str]:
        if not (behaviour.cyclic_next or behaviour.unknown_extension or behaviour.new_code):
            return out, ""
        kind = next((v for k, v in headers if k.lower() == b"content-type"), b"").decode()
        if "json" not in kind:
            return out, ""
        try:
            data = json.loads(out)
        except ValueError:
            return out, ""
        notes = []
        if behaviour.cyclic_next and data.get("resourceType") == "Bundle" and self._cycle(call, data):
            notes.append("lien next cyclique (retour à la première page)")
        resources = [e.get("resource") for e in data.get("entry", ())] if data.get("resourceType") == "Bundle" else [data]
        resources = [r for r in resources if isinstance(r, dict) and r.get("resourceType") != "OperationOutcome"]
        if behaviour.unknown_extension and resources:
            for r in resources:
                r.setdefault("extension", []).append({"url": UNKNOWN_EXTENSION, "valueString": "valeur inconnue"})
            notes.append("extension inconnue ajoutée")
        services = [r for r in resources if r.get("resourceType") == "HealthcareService"]
        if behaviour.new_code and services:
            for r in services:
                r.setdefault("characteristic", []).append({"coding": [dict(NEW_CODE)]})
            notes.append("code nouveau ajouté (characteristic)")
        if not notes:
            return out, ""
        return json.dumps(data, ensure_ascii=False).encode(), ", ".join(notes)

    def _cycle(self, call: Call, bundle: dict) -> bool:
        links = {link.get("relation"): link for link in bundle.get("link", ())}
        if "next" not in links or "self" not in links:
            return False
        with self._lock:
            first = self._first_page.setdefault(call.path, links["self"]["url"])
        if not any(k == "_page" for k, _ in call.query):
            return False
        links["next"]["url"] = first
        return True

