"""Shared parts of the plugin and CLI tests: a reference server for the module, its target
profile file, tiny scenario texts, and a port where nothing listens.

Not a test module: imported by tests/test_plugin*.py.
"""
from __future__ import annotations

import socket
import textwrap
from pathlib import Path

import pytest

from harness.pytest_plugin.embedded import EmbeddedTarget


@pytest.fixture(scope="module")
def target_profile(tmp_path_factory: pytest.TempPathFactory):
    """A running reference server for the module; yields its target profile file."""
    target = EmbeddedTarget()
    try:
        yield target.write_profile(tmp_path_factory.mktemp("target") / "target.yaml")
    finally:
        target.stop()


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scenario(number: int, *, priority: int = 1, steps: str, extra: str = "") -> tuple[str, str]:
    """(file name, text) of a scenario with the given steps (YAML, indented as under `steps:`)."""
    text = f"""\
id: ROR-SRV-{number}
title: Scénario d'essai {number}
priority: {priority}
role: server
area: essai
requirements: [http://hl7.org/fhir/R4/http.html]
{extra}steps:
{textwrap.indent(textwrap.dedent(steps), "  ")}"""
    return f"ROR-SRV-{number}-essai.yaml", text


PASSING = scenario(901, steps="""\
- name: lire le CapabilityStatement
  request: {method: GET, path: /metadata}
  expect:
    status: 200
    resource_type: CapabilityStatement
""")

FAILING = scenario(902, steps="""\
- name: lire une offre inexistante
  request: {method: GET, path: /HealthcareService/inexistante}
  expect:
    status: 200
""")

SKIPPED = scenario(903, extra="requires:\n  facts: [nope.x]\n", steps="""\
- name: lire
  request: {method: GET, path: /metadata}
  expect: {status: 200}
""")

INCONCLUSIVE = scenario(904, steps="""\
- name: rechercher avec _filter, que le banc ne juge pas
  request:
    method: GET
    path: /HealthcareService
    query:
      - _filter: "specialty eq {{ facts.specialty.token }}"
  expect:
    status: 200
    search: {matches: true}
""")

MINOR_FAILING = scenario(905, priority=3, steps="""\
- name: lire une offre inexistante
  request: {method: GET, path: /HealthcareService/inexistante}
  expect:
    status: 200
""")

BROKEN = ("ROR-SRV-906-essai.yaml", PASSING[1].replace("ROR-SRV-901", "ROR-SRV-906").replace("status: 200", "statut: 200"))


def write(folder: Path, *files: tuple[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files:
        (folder / name).write_text(text, encoding="utf-8")
    return folder
