"""The scenario catalogue as the CLI sees it before any test runs: every scenario file of the
scenario folders, loaded and checked, then selected by priority, role and id.

Loading everything up front is what lets `ror-harness run` refuse a broken catalogue (exit 2,
every problem located) before it starts a server or sends a request.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from harness.scenario import FileError, Problem, Scenario, load


@dataclass
class Catalogue:
    scenarios: list[Scenario] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def scenario_files(folders: Iterable[Path]) -> list[Path]:
    """`ROR-*.yaml` / `.yml` files under the folders (other YAML files are not scenarios)."""
    return sorted(p for folder in folders for pattern in ("ROR-*.yaml", "ROR-*.yml") for p in folder.rglob(pattern))


def load_catalogue(folders: Iterable[Path], shown_from: Path | None = None) -> Catalogue:
    catalogue = Catalogue()
    owners: dict[str, str] = {}
    for path in scenario_files(folders):
        shown = path.relative_to(shown_from).as_posix() if shown_from and path.is_relative_to(shown_from) else str(path)
        try:
            scenario = load(path, shown)
        except FileError as exc:
            catalogue.problems += exc.problems
            continue
        if scenario.id in owners:
            catalogue.problems.append(Problem(shown, scenario.line, "id", f"{scenario.id} is already the id of {owners[scenario.id]}"))
            continue
        owners[scenario.id] = shown
        catalogue.scenarios.append(scenario)
    return catalogue


def is_selected(scenario: Scenario, *, priority: int | None = None, role: str | None = None,
                ids: Iterable[str] = ()) -> bool:
    """`priority` N keeps N and the more critical priorities (1 is critique)."""
    wanted = set(ids)
    return (priority is None or scenario.priority <= priority) and (role is None or scenario.role == role) \
        and (not wanted or scenario.id in wanted)


def select(scenarios: list[Scenario], **criteria: object) -> list[Scenario]:
    return [s for s in scenarios if is_selected(s, **criteria)]  # type: ignore[arg-type]
