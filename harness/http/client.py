"""The harness's only way to talk to a candidate ROR server.

`TargetClient.send` never raises for anything the target does: a refused connection, a stall,
a 5 GB body, a redirect loop or bytes that are not JSON all come back as an `HttpResult` whose
`error` / `json_error` / `notes` say what happened, within `total_timeout_s`. What the reports
may show (`exchanges`) is redacted here, once; what the checks read (`headers`, `json`, `raw`)
is the real answer.
"""
from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit

from harness import __version__
from harness.http.body import DecodedBody, content_type_note, decode
from harness.http.curl import curl_line
from harness.http.deadline import deadline
from harness.http.oauth import TokenError, TokenSource
from harness.http.settings import ClientSettings
from harness.http.transport import RawResponse, Transport, TransportError
from harness.outcomes import Exchange, RecordedRequest, RecordedResponse
from harness.redaction import (is_secret_header, redact_headers, redact_text, register_header_secrets,
                               register_secret)

FHIR_JSON_UTF8 = "application/fhir+json; charset=utf-8"
_REDIRECTS = {301, 302, 303, 307, 308}
_NO_BODY_STATUSES = {204, 304}

Body = Mapping[str, Any] | list | str | bytes | None


@dataclass(frozen=True)
class HttpResult:
    """The answer to one `send` (redirect hops and a 401 retry included)."""

    status: int | None  # None: no answer at all (see error)
    headers: dict[str, str]  # lower-cased names, real values: for checks, never for outputs
    raw: bytes  # the body as received (decompressed), at most max_body_bytes
    truncated: bool
    text: str  # the body read as UTF-8
    json: Any | None
    json_error: str | None  # why json is None ("the body is empty", "not JSON (...)", ...)
    notes: tuple[str, ...]  # what a reader should know: charset disagreement, content type, redirects, ...
    error: str | None  # why there is no (complete) answer, in words
    error_kind: str | None  # dns, refused, tls, timeout, deadline, protocol, connection_lost, oauth, redirects, ...
    url: str  # the last URL asked
    elapsed_ms: float
    exchanges: tuple[Exchange, ...]  # every hop, redacted, with its curl line

    @property
    def exchange(self) -> Exchange:
        return self.exchanges[-1]


def resolve_url(base_url: str, path_or_url: str, params: tuple[tuple[str, str], ...] | list) -> str:
    """An absolute URL is kept (paging links); a path is relative to the base URL, even with a leading '/'."""
    if urlsplit(path_or_url).scheme in ("http", "https"):
        url = path_or_url
    else:
        url = base_url.rstrip("/") + "/" + path_or_url.lstrip("/") if path_or_url else base_url
    if params:
        url += ("&" if "?" in url else "?") + urlencode(list(params), quote_via=quote, safe=":,/$")
    return url


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(parts.scheme)


def _encode_body(body: Body) -> tuple[bytes | None, str | None]:
    """Bytes to send and the Content-Type they imply (None: the caller says)."""
    if body is None:
        return None, None
    if isinstance(body, bytes):
        return body, None
    if isinstance(body, str):
        return body.encode("utf-8"), None
    return json.dumps(body, ensure_ascii=False).encode("utf-8"), FHIR_JSON_UTF8


def _merge(base: list[tuple[str, str]], overrides: Mapping[str, str | None]) -> list[tuple[str, str]]:
    """Caller's headers replace same-named ones (any case); a None value removes the header altogether."""
    lowered = {name.lower() for name in overrides}
    merged = [(k, v) for k, v in base if k.lower() not in lowered]
    return merged + [(k, v) for k, v in overrides.items() if v is not None]


def _header_dict(pairs: tuple[tuple[str, str], ...] | list[tuple[str, str]], *, lower: bool) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower() if lower else name
        result[key] = f"{result[key]}, {value}" if key in result else value
    return result


class TargetClient:
    """Sends the scenarios' requests to the target with its TLS, OAuth2, `Ror-*` headers and limits."""

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        self._transport = Transport(settings)
        self._origin = _origin(settings.base_url)
        self.tokens = TokenSource(settings.oauth2, self._post_form) if settings.oauth2 else None
        register_secret(settings.client_key_password)
        register_secret(urlsplit(settings.proxy).password if settings.proxy else None)

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> TargetClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _post_form(self, url: str, headers: list[tuple[str, str]], body: bytes) -> RawResponse:
        return self._transport.request("POST", url, headers, body)

    def _default_headers(self, same_origin: bool, content_type: str | None) -> list[tuple[str, str]]:
        s = self.settings
        headers = [("Accept", "application/fhir+json"), ("Accept-Encoding", "gzip"),
                   ("User-Agent", f"{s.user_agent}/{__version__}")]
        headers += s.ror_headers.as_headers()
        # Secrets configured for the target go to the target only, never to another origin a link points to.
        headers += [(k, v) for k, v in s.extra_headers if same_origin or not is_secret_header(k)]
        if content_type:
            headers.append(("Content-Type", content_type))
        return headers

    def send(self, method: str, path_or_url: str, *, params: tuple[tuple[str, str], ...] | list = (),
             headers: Mapping[str, str | None] | None = None, body: Body = None, step: str = "",
             yaml_line: int = 0) -> HttpResult:
        """Send one request, follow redirects, retry once with a fresh token on 401; never raises for the target."""
        method = method.upper()
        url = resolve_url(self.settings.base_url, path_or_url, params)
        content, implied_type = _encode_body(body)
        overrides = dict(headers or {})
        hops: list[Exchange] = []
        notes: list[str] = []
        retried = False
        started = time.monotonic()
        with deadline(self.settings.total_timeout_s):
            while True:
                same_origin = _origin(url) == self._origin
                sent = _merge(self._default_headers(same_origin, implied_type if content else None), overrides)
                token = None
                wants_token = self.tokens and not any(k.lower() == "authorization" for k in overrides)
                if wants_token and same_origin:
                    try:
                        token = self.tokens.token()
                    except TokenError as exc:
                        hops.append(self._record(step, yaml_line, method, url, sent, content, None, str(exc)))
                        return self._failed(url, started, hops, notes, "oauth", str(exc))
                    sent.append(("Authorization", f"Bearer {token}"))
                elif wants_token:
                    notes.append(f"no Authorization sent to {url}: it is not the target's origin")
                try:
                    raw = self._transport.request(method, url, sent, content)
                except TransportError as exc:
                    hops.append(self._record(step, yaml_line, method, url, sent, content, None, exc.message))
                    return self._failed(url, started, hops, notes, exc.kind, exc.message)
                hops.append(self._record(step, yaml_line, method, url, sent, content, raw, None))
                if raw.status == 401 and token and not retried:
                    self.tokens.invalidate(token)
                    retried = True
                    notes.append("401 with a cached token: a new token was fetched and the request sent again")
                    continue
                location = _header_dict(raw.headers, lower=True).get("location")
                if raw.status not in _REDIRECTS or not location or self.settings.max_redirects == 0:
                    return self._answered(method, url, started, hops, notes, raw)
                if len(hops) - retried > self.settings.max_redirects:
                    chain = " -> ".join(redact_text(h.request.url) for h in hops)
                    why = f"more than {self.settings.max_redirects} redirects: {chain}"
                    return self._answered(method, url, started, hops, notes, raw, error=("redirects", why))
                target = urljoin(url, location)
                notes.append(f"{raw.status} redirect from {redact_text(url)} to {redact_text(target)}")
                if raw.status == 303 or (raw.status in (301, 302) and method == "POST"):
                    method, content = "GET", None
                url = target

    def _record(self, step: str, yaml_line: int, method: str, url: str, sent: list[tuple[str, str]],
                content: bytes | None, raw: RawResponse | None, error: str | None) -> Exchange:
        """The redacted record of one hop, with its curl replay line."""
        register_header_secrets(sent)
        register_header_secrets(raw.headers if raw is not None else ())
        request = RecordedRequest(method, redact_text(url), redact_headers(_header_dict(sent, lower=False)),
                                  redact_text(content.decode("utf-8", errors="replace")) if content else None)
        response = None
        if raw is not None:
            response = RecordedResponse(raw.status, redact_headers(_header_dict(raw.headers, lower=False)),
                                        redact_text(raw.body.decode("utf-8", errors="replace")), raw.elapsed_ms,
                                        raw.truncated)
        return Exchange(step, yaml_line, request, response, redact_text(error) if error else None,
                        curl_line(request, self.settings))

    def _failed(self, url: str, started: float, hops: list[Exchange], notes: list[str], kind: str,
                message: str) -> HttpResult:
        return HttpResult(None, {}, b"", False, "", None, "no answer", tuple(notes), redact_text(message), kind,
                          url, (time.monotonic() - started) * 1000, tuple(hops))

    def _answered(self, method: str, url: str, started: float, hops: list[Exchange], notes: list[str],
                  raw: RawResponse, error: tuple[str, str] | None = None) -> HttpResult:
        headers = _header_dict(raw.headers, lower=True)
        notes = notes + list(raw.notes)
        if method == "HEAD" or raw.status in _NO_BODY_STATUSES or (not raw.body and raw.status >= 300):
            decoded = DecodedBody(raw.body.decode("utf-8", errors="replace"), None, "the answer has no body", ())
        else:
            decoded = decode(raw.body, headers.get("content-type"), truncated=raw.truncated)
            type_note = content_type_note(headers.get("content-type"))
            notes += [type_note] if type_note else []
        kind, message = error or (None, None)
        return HttpResult(raw.status, headers, raw.body, raw.truncated, decoded.text, decoded.json,
                          decoded.json_error, tuple(notes) + decoded.notes, message, kind, url,
                          (time.monotonic() - started) * 1000, tuple(hops))
