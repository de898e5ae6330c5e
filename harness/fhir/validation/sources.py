"""Where resources to validate come from: files, folders, NDJSON, Bundles.

Why separate: the CLI, the benchmark and the agreement script all read the same inputs, and a
broken input must become a message naming the file and position, never a traceback.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

SUFFIXES = (".json", ".ndjson")


@dataclass(frozen=True)
class Loaded:
    """One resource read from an input, or the reason it could not be read."""

    origin: str  # file, or file:line for NDJSON
    resource: object = None
    error: str | None = None


def _position_error(origin: str, text: str, exc: Exception) -> str:
    try:
        json.loads(text)
    except json.JSONDecodeError as jexc:
        return f"{origin}:{jexc.lineno}:{jexc.colno}: invalid JSON: {jexc.msg}"
    except RecursionError:
        return f"{origin}: invalid JSON: nested too deeply"
    return f"{origin}: invalid JSON: {exc}"


def _read_ndjson(path: Path) -> Iterator[Loaded]:
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            origin = f"{path}:{lineno}"
            try:
                yield Loaded(origin, orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                text = line.decode("utf-8", "replace")
                yield Loaded(origin, error=_position_error(origin, text, exc).replace(f"{origin}:1:", f"{origin}:"))


def read_file(path: Path) -> Iterator[Loaded]:
    """Resources of one file: a JSON resource (a Bundle stays one resource) or NDJSON lines."""
    if path.suffix == ".ndjson":
        yield from _read_ndjson(path)
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield Loaded(str(path), error=f"{path}: cannot read: {exc.strerror or exc}")
        return
    try:
        yield Loaded(str(path), orjson.loads(data))
    except orjson.JSONDecodeError as exc:
        yield Loaded(str(path), error=_position_error(str(path), data.decode("utf-8", "replace"), exc))


def iter_inputs(paths: list[str | Path]) -> Iterator[Loaded]:
    """Every resource under the given paths (folders walked recursively, sorted)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            # Hidden files (a package's .index.json) and package manifests are not resources.
            for f in sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file()
                            and not p.name.startswith(".") and p.name != "package.json"):
                yield from read_file(f)
        elif path.exists():
            yield from read_file(path)
        else:
            yield Loaded(str(path), error=f"{path}: no such file or folder")
