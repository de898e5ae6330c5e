"""Is the target there at all? One line to print before exiting 3, instead of 94 identical failures.

Any HTTP answer, even 404 or 500, means the target is reachable: judging it is the scenarios'
job. Only the transport failing (name, connection, TLS, silence) stops the run here.
"""
from __future__ import annotations

from harness.http.deadline import deadline
from harness.http.settings import ClientSettings
from harness.http.transport import Transport, TransportError
from harness.redaction import redact_text


def preflight(settings: ClientSettings) -> str | None:
    """None when `GET {base}/metadata` gets any HTTP answer; else why the target is unreachable, in one line."""
    url = settings.base_url.rstrip("/") + "/metadata"
    transport = Transport(settings)
    try:
        with deadline(min(settings.total_timeout_s, settings.connect_timeout_s + settings.read_timeout_s)):
            transport.request("GET", url, [("Accept", "application/fhir+json")], None)
    except TransportError as exc:
        return redact_text(f"target {settings.base_url} unreachable ({exc.kind}): {exc.message}")
    finally:
        transport.close()
    return None
