"""Reporters that write one file when the run ends (JSON summary, JUnit XML) share this.

The file is written to a sibling and renamed into place, so a CI job reading it never sees
half a file, even if the run is killed while writing.
"""
from __future__ import annotations

import os
from pathlib import Path

from harness.report.events import Event, RunFinished, RunStarted


class RunFileWriter:
    """Remembers RunStarted (the run's description) and writes `render(...)` on RunFinished."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._started: RunStarted | None = None

    def render(self, started: RunStarted | None, finished: RunFinished) -> bytes:
        raise NotImplementedError

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._started = event
        elif isinstance(event, RunFinished):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_name(self.path.name + ".partial")
            partial.write_bytes(self.render(self._started, event))
            os.replace(partial, self.path)
