"""The check registry: one named, documented function per check kind.

Why a registry: a scenario's `expect` keys are check names, so an unknown key is caught when
the file is loaded (with its line), `ror-harness list` and the docs can show what each does,
and adding a check is one decorated function in one family module, with no engine change.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.checks.context import Finding, StepContext

CheckFunction = Callable[[StepContext, Any], list[Finding]]


@dataclass(frozen=True)
class CheckKind:
    name: str
    run: CheckFunction
    doc: str  # the function's docstring: what it checks and why


_REGISTRY: dict[str, CheckKind] = {}


def register(name: str) -> Callable[[CheckFunction], CheckFunction]:
    """Decorator: make `func` the check called `name` in scenario files."""

    def decorate(func: CheckFunction) -> CheckFunction:
        if name in _REGISTRY:
            raise ValueError(f"check {name!r} registered twice")
        doc = inspect.getdoc(func)
        if not doc:
            raise ValueError(f"check {name!r} needs a docstring: it is its documentation")
        _REGISTRY[name] = CheckKind(name, func, doc)
        return func

    return decorate


def _load_families() -> None:
    """Import every family module once: each registers its checks on import."""
    from harness.checks import bundle, export, resource, search, status, validate  # noqa: F401


def names() -> list[str]:
    _load_families()
    return sorted(_REGISTRY)


def get(name: str) -> CheckKind:
    _load_families()
    return _REGISTRY[name]


def all_kinds() -> list[CheckKind]:
    _load_families()
    return [_REGISTRY[n] for n in sorted(_REGISTRY)]
