"""`{{ facts.x.y }}` and `{{ saved.name }}`: the two kinds of variables a scenario may use.

Why so small a language: a scenario must stay readable by an assessor, so there are no
expressions, filters or defaults, only names. `facts.*` come from the target profile (or the
embedded server's dataset); `saved.*` from the `save` of an earlier step. A string that is
exactly one variable takes the variable's value with its type (so `total: "{{ facts.n }}"`
compares as a number); anywhere else the value is written into the text.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

ROOTS = ("facts", "saved")
_VARIABLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$")


class MissingValue(LookupError):
    """A variable whose value is not available (the dotted name is the argument)."""

    @property
    def name(self) -> str:
        return str(self.args[0])


def references(value: Any) -> Iterator[tuple[str, str | None]]:
    """Every variable named in a value: (dotted name, problem or None)."""
    if isinstance(value, str):
        for match in _VARIABLE.finditer(value):
            name = match.group(1)
            if not _NAME.match(name):
                yield name, f"'{{{{ {name} }}}}' is not a variable name (letters, digits, _ and - joined by dots)"
            elif name.split(".")[0] not in ROOTS or "." not in name:
                yield name, f"unknown variable '{name}': variables start with {' or '.join(r + '.' for r in ROOTS)}"
            else:
                yield name, None
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def lookup(name: str, env: Mapping[str, Any]) -> Any:
    """The value of a dotted name in `env` ({"facts": ..., "saved": ...}); MissingValue if absent."""
    node: Any = env
    for part in name.split("."):
        if isinstance(node, Mapping) and part in node and node[part] is not None:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise MissingValue(name)
    return node


def render(value: Any, env: Mapping[str, Any]) -> Any:
    """`value` with every variable replaced; MissingValue names the first one that is absent."""
    if isinstance(value, str):
        whole = _VARIABLE.fullmatch(value.strip())
        if whole:
            return lookup(whole.group(1), env)
        return _VARIABLE.sub(lambda m: _text(lookup(m.group(1), env)), value)
    if isinstance(value, Mapping):
        return {k: render(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, env) for v in value]
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
