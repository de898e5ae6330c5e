"""A loaded scenario: plain frozen data, every node carrying its YAML line.

Values may still hold `{{ variables }}`: they are rendered step by step at run time, because
`saved.*` values only exist once earlier steps have run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: tuple[tuple[str, Any], ...]  # ordered: a parameter may repeat
    headers: dict[str, Any]
    body: Any | None  # inline body (JSON value or text)
    body_file: Path | None  # resolved against the scenario's folder
    auth: str  # default | none | invalid | expired | profile0 | read_only
    ror_headers: bool
    line: int
    client_cert: bool = True  # False: a connection without the profile's TLS client certificate


@dataclass(frozen=True)
class Save:
    """A value kept for later steps: a FHIRPath on the response body, or a response header."""

    name: str
    expression: str | None
    header: str | None
    line: int


@dataclass(frozen=True)
class Check:
    """One entry of a step's `expect`: the registry's check `kind` with its parameters."""

    kind: str
    params: Any
    line: int


@dataclass(frozen=True)
class Step:
    name: str
    line: int
    request: Request
    saves: tuple[Save, ...] = ()
    checks: tuple[Check, ...] = ()


@dataclass(frozen=True)
class Requires:
    """What the target must declare (CapabilityStatement) or hold (facts of its profile)."""

    resources: tuple[str, ...] = ()
    interactions: tuple[str, ...] = ()  # "Type:interaction"
    search_params: tuple[str, ...] = ()  # "Type:name"
    operations: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()  # dotted names under facts., explicit and used in templates
    credentials: tuple[str, ...] = ()  # auth_profile0, auth_read_only, expired_token, client_cert: explicit and used


@dataclass(frozen=True)
class Proof:
    """A reference-server fault the scenario must catch, and the step that must fail on it."""

    fault: str
    step: str


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    priority: int
    role: str
    steps: tuple[Step, ...]
    source: str  # the file as shown in reports
    path: Path
    description: str = ""
    priority_reason: str = ""
    area: str = ""
    requirements: tuple[str, ...] = ()
    ig_scenarios: tuple[str, ...] = ()
    ig_scenarios_note: str = ""  # French: why no IG scenario applies (cross-cutting rule), shown in the docs
    proven_by: tuple[Proof, ...] = ()
    requires: Requires = field(default_factory=Requires)
    line: int = 1
    #: role consumer: what the consumer is asked and expected to do (harness.scenario.consumer.ConsumerSpec)
    consumer: Any = None
