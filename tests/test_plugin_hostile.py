"""A hostile or broken target ends each scenario in a failed check with a message, in bounded
time: silence past the timeout, a body that is not JSON, a body past the size limit, a next
link that goes elsewhere."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.http import ClientSettings
from harness.outcomes import Outcome
from harness.pytest_plugin.execute import run_scenario
from harness.pytest_plugin.session import RunContext
from harness.report.events import EventHub
from harness.scenario import load
from harness.scenario.target import TargetProfile


class Hostile(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/fhir+json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            time.sleep(3)
            self._send(200, b"{}")
        elif self.path.startswith("/garbage"):
            self._send(200, b"<html>maintenance</html>", "text/html")
        elif self.path.startswith("/huge"):
            self._send(200, b'{"resourceType": "Bundle", "x": "' + b"a" * 300_000 + b'"}')
        else:
            page = {"resourceType": "Bundle", "type": "searchset", "total": 2, "entry": [],
                    "link": [{"relation": "next", "url": "http://elsewhere.invalid/page2"}]}
            self._send(200, json.dumps(page).encode())


@pytest.fixture(scope="module")
def hostile_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


SCENARIO = """\
id: ROR-SRV-990
title: Cible hostile
priority: 1
role: server
requirements: [x]
steps:
  - name: interroger
    request: {{method: GET, path: {path}}}
    expect:
      status: 200
      resource_type: Bundle
      search: {{}}
"""


@pytest.mark.parametrize("path, words", [
    ("/slow", "la cible n'a pas répondu"),
    ("/garbage", "n'est pas du JSON"),
    ("/huge", "n'est pas du JSON lisible"),
    ("/HealthcareService", "sort de la cible"),
])
def test_a_hostile_answer_is_a_failed_check_in_bounded_time(tmp_path: Path, hostile_url: str, path: str, words: str):
    file = tmp_path / "ROR-SRV-990-hostile.yaml"
    file.write_text(SCENARIO.format(path=path), encoding="utf-8")
    settings = ClientSettings(base_url=hostile_url, read_timeout_s=1, total_timeout_s=1.5, max_body_bytes=100_000)
    context = RunContext(TargetProfile(settings))
    started = time.monotonic()
    try:
        result = run_scenario(load(file), context, EventHub())
    finally:
        context.close()
    assert time.monotonic() - started < 2.5
    assert result.outcome is Outcome.FAILED
    assert any(words in f.message_fr for f in result.failures), [f.message_fr for f in result.failures]
