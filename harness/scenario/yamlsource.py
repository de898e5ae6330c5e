"""YAML with a line number for every node, and without YAML 1.1 surprises.

Why not `yaml.safe_load`: an error must name the line of the field at fault, and safe_load
forgets where things were. We compose the node tree once, build the plain data from it, and
keep a map from each node's path (`("steps", 0, "expect")`) to its line.

Two YAML 1.1 rules are switched off because they silently change scenario values: dates
(`2023-08-02` stays the string a FHIR search needs, not a `datetime.date`) and the
yes/no/on/off booleans (`on` is a string; only true/false are booleans). Duplicate keys are
an error (PyYAML would keep the last one without a word).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.scenario.errors import FileError, Problem, field_name

Path_ = tuple  # a path inside the document: keys and list indexes


class _Loader(yaml.SafeLoader):
    """SafeLoader minus timestamps and YAML 1.1 yes/no/on/off booleans."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in "tTfF":
    _Loader.yaml_implicit_resolvers.setdefault(_first, []).append(
        ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")))


@dataclass(frozen=True)
class Document:
    """A parsed YAML document: its data and the line of every node (keys: the key's line)."""

    path: str
    data: object
    lines: dict[Path_, int]

    def line_of(self, path: Path_) -> int:
        """The line of `path`, else of its nearest ancestor that has one."""
        path = tuple(path)
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def problem(self, path: Path_, message: str) -> Problem:
        return Problem(self.path, self.line_of(path), field_name(tuple(path)), message)


def _index(node: yaml.Node, path: Path_, lines: dict[Path_, int], problems: list[Problem], source: str,
           active: set[int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if id(node) in active:  # a recursive alias: the constructor would loop too
        problems.append(Problem(source, node.start_mark.line + 1, field_name(path), "recursive YAML alias"))
        return
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[object, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            here = key_node.start_mark.line + 1
            if key in seen:
                problems.append(Problem(source, here, field_name((*path, key)),
                                        f"duplicate key (first given on line {seen[key]})"))
                continue
            seen[key] = here
            lines[(*path, key)] = here
            _index(value_node, (*path, key), lines, problems, source, active)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*path, i), lines, problems, source, active)
    active.discard(id(node))


def parse(text: str, source: str) -> Document:
    """Parse one YAML document; FileError (with line) if it is not well-formed YAML."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Document(source, None, {})
        lines: dict[Path_, int] = {}
        problems: list[Problem] = []
        _index(node, (), lines, problems, source, set())
        if problems:
            raise FileError(problems)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        raise FileError([Problem(source, line, "", f"not valid YAML: {what}")]) from None
    except yaml.YAMLError as exc:
        raise FileError([Problem(source, None, "", f"not valid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return Document(source, data, lines)


def read(path: Path, shown_as: str | None = None) -> Document:
    """Read and parse a YAML file; unreadable or non-UTF-8 files are FileErrors too."""
    source = shown_as or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise FileError([Problem(source, None, "", f"not UTF-8 text (byte {exc.start})")]) from None
    except OSError as exc:
        raise FileError([Problem(source, None, "", f"cannot read: {exc.strerror or exc}")]) from None
    return parse(text, source)
