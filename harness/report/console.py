"""The table printed at the end of a run: what a person at a terminal reads first."""
from __future__ import annotations

import re
import sys
from typing import TextIO

from harness.outcomes import Outcome
from harness.report.events import Event, RunFinished
from harness.report.wording import OUTCOME_FR, safe_text, summary_line, verdict_text

_HEADERS = ("id", "titre", "priorité", "résultat", "durée")
# Control characters from a hostile server (ESC starts terminal escape sequences) are shown, not obeyed.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _printable(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", safe_text(text))


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class ConsoleReporter:
    """On RunFinished: one row per scenario, the reasons of non-passed ones, then counts and the PLATINES score."""

    def __init__(self, stream: TextIO | None = None, title_width: int = 60) -> None:
        self.stream = stream
        self.title_width = title_width

    def handle(self, event: Event) -> None:
        if isinstance(event, RunFinished):
            out = self.stream or sys.stdout
            out.write("\n" + self.render(event))  # pytest's progress line has no newline of its own
            out.flush()

    def render(self, event: RunFinished) -> str:
        rows = [(r.id, _clip(r.title, self.title_width), r.priority_label, OUTCOME_FR[r.outcome],
                 f"{r.duration_s:.1f} s") for r in event.results]
        widths = [max(len(row[i]) for row in [_HEADERS, *rows]) for i in range(len(_HEADERS))]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                 for row in [_HEADERS, tuple("-" * w for w in widths), *rows]]
        details = [r for r in event.results if r.outcome is not Outcome.PASSED]
        if details:
            lines.append("")
        for result in details:
            lines.append(f"{result.id} ({OUTCOME_FR[result.outcome]}) :")
            lines += [f"    {line}" for line in verdict_text(result).splitlines()]
        lines += ["", summary_line(event.results, event.score, event.duration_s), ""]
        return _printable("\n".join(lines))
