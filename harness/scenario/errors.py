"""Errors in scenario and target files, always located: file, line and field.

Why one type: every way a file can be wrong (YAML syntax, schema, unknown check, a FHIRPath
that does not compile, a variable that no step saves) must reach the author as the same one
line, `file:line: field: message`, and never as a Python traceback. The pytest plugin and the
CLI turn these into exit code 2.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file."""

    path: str  # the file, as given
    line: int | None  # 1-based; None when the file cannot be read at all
    field: str  # dotted location inside the document, e.g. "steps[1].expect.status"; "" = the document
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class FileError(Exception):
    """A file that cannot be used, with every problem found in it (sorted by line)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line or 0, p.field))
        super().__init__("\n".join(str(p) for p in self.problems))


def field_name(path: tuple) -> str:
    """`("steps", 1, "expect", "status")` -> `steps[1].expect.status`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
