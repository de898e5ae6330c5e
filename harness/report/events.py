"""The engine's event stream: the only thing reporters listen to.

Why events (as Schemathesis does): the engine never knows which outputs are on; each output is
one handler, so adding a format touches no engine code. Events carry redacted data only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Union

from harness.outcomes import CheckFailure, Exchange, ScenarioResult


@dataclass(frozen=True)
class RunStarted:
    target: str  # base URL (or "embedded reference server at ...")
    ig: str  # IG package label
    role: str  # server | consumer
    started_at: str  # ISO 8601


@dataclass(frozen=True)
class ScenarioStarted:
    id: str
    title: str
    priority: int
    role: str
    area: str
    source: str
    requirements: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepFinished:
    scenario_id: str
    step: str
    yaml_line: int
    exchanges: tuple[Exchange, ...] = ()
    failures: tuple[CheckFailure, ...] = ()


@dataclass(frozen=True)
class ScenarioFinished:
    result: ScenarioResult


@dataclass(frozen=True)
class RunFinished:
    results: tuple[ScenarioResult, ...]
    score: int
    duration_s: float
    exit_code: int
    extras: dict = field(default_factory=dict)


Event = Union[RunStarted, ScenarioStarted, StepFinished, ScenarioFinished, RunFinished]


class Handler(Protocol):
    def handle(self, event: Event) -> None: ...


class EventHub:
    """Fan an event out to every handler; a handler's failure is the harness's, never the candidate's."""

    def __init__(self, handlers: list[Handler] | None = None) -> None:
        self.handlers: list[Handler] = list(handlers or [])
        self.errors: list[str] = []

    def add(self, handler: Handler) -> None:
        self.handlers.append(handler)

    def emit(self, event: Event) -> None:
        for handler in self.handlers:
            try:
                handler.handle(event)
            except Exception as exc:  # noqa: BLE001 - a broken reporter must not fail a scenario
                self.errors.append(f"{type(handler).__name__}: {type(exc).__name__}: {exc}")
