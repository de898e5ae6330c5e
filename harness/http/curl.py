"""A `curl` command line that replays a recorded request, so a vendor can reproduce a failure by hand.

Built only from the already-redacted request: the line shows `[REDACTED]` where the token was,
and the reader puts their own credentials back. Certificate and key *paths* are shown (they
name files on the assessor's machine, not their content).
"""
from __future__ import annotations

import shlex

from harness.http.settings import ClientSettings
from harness.outcomes import RecordedRequest
from harness.redaction import redact_text


def curl_line(request: RecordedRequest, settings: ClientSettings) -> str:
    parts = ["curl", "-sS", "-i", "-X", request.method, shlex.quote(request.url)]
    for name, value in request.headers.items():
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if request.body is not None:
        parts += ["--data-binary", shlex.quote(request.body)]
    if not settings.verify_tls:
        parts.append("-k")
    elif settings.ca_bundle:
        parts += ["--cacert", shlex.quote(settings.ca_bundle)]
    if settings.client_cert:
        parts += ["--cert", shlex.quote(settings.client_cert)]
    if settings.client_key:
        parts += ["--key", shlex.quote(settings.client_key)]
    if settings.proxy:
        parts += ["--proxy", shlex.quote(redact_text(settings.proxy))]
    parts += ["--max-time", f"{settings.total_timeout_s:g}"]
    return " ".join(parts)
