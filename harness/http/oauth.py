"""OAuth2 client credentials: one token for the whole run, fetched again only when it is spent.

Asking the token endpoint before every request would make the token endpoint, not the ROR API,
the thing under load, and would hide a server that rejects a perfectly valid token. So the
token is cached until shortly before `expires_in`, and dropped only when the API answers 401.
The client secret and every token received are registered with the redaction module first.
"""
from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from urllib.parse import quote, urlencode

from harness.http.settings import OAuth2Settings
from harness.http.transport import RawResponse, TransportError
from harness.redaction import redact_text, register_secret

# Renew this long before the announced expiry, so a token never expires in flight.
_EXPIRY_MARGIN_S = 30.0

Post = Callable[[str, list[tuple[str, str]], bytes], RawResponse]


class TokenError(Exception):
    """No token could be obtained; the message says why, secrets redacted."""


class TokenSource:
    """Fetches and caches the access token; `post` sends a form to the token URL through the harness transport."""

    def __init__(self, settings: OAuth2Settings, post: Post) -> None:
        self._settings = settings
        self._post = post
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.fetch_count = 0
        register_secret(settings.client_secret)

    def token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                self._token, self._expires_at = self._fetch()
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget `token` (the API refused it); a newer token fetched meanwhile is kept."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _request(self) -> tuple[list[tuple[str, str]], bytes]:
        s = self._settings
        form = [("grant_type", "client_credentials")] + ([("scope", s.scope)] if s.scope else [])
        headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")]
        if s.client_auth == "post":
            form += [("client_id", s.client_id), ("client_secret", s.client_secret)]
        else:  # RFC 6749 2.3.1: the form-urlencoded id and secret, joined by a colon, in HTTP Basic
            pair = f"{quote(s.client_id, safe='')}:{quote(s.client_secret, safe='')}"
            headers.append(("Authorization", "Basic " + base64.b64encode(pair.encode()).decode("ascii")))
        return headers, urlencode(form).encode("ascii")

    def _fetch(self) -> tuple[str, float]:
        url = self._settings.token_url
        headers, body = self._request()
        try:
            response = self._post(url, headers, body)
        except TransportError as exc:
            raise TokenError(f"OAuth2 token endpoint {url}: {exc.message}") from exc
        self.fetch_count += 1
        text = response.body.decode("utf-8", errors="replace")
        if response.status != 200:
            raise TokenError(redact_text(f"OAuth2 token endpoint {url} answered {response.status}: {text[:300]}"))
        try:
            payload = json.loads(text)
            token = payload["access_token"]
        except (ValueError, KeyError, TypeError) as exc:
            raise TokenError(f"OAuth2 token endpoint {url} answered 200 without an access_token in JSON") from exc
        if not isinstance(token, str) or not token:
            raise TokenError(f"OAuth2 token endpoint {url} answered an access_token that is not a string")
        register_secret(token)
        expires_in = payload.get("expires_in")
        try:  # a number of seconds, sometimes sent as a string; absent or odd: valid until the API says 401
            lifetime = float(expires_in) if float(expires_in) > 0 else float("inf")
        except (TypeError, ValueError):
            lifetime = float("inf")
        margin = min(_EXPIRY_MARGIN_S, lifetime / 10)
        return token, time.monotonic() + lifetime - margin
