"""The words every human-facing report uses, so the console, JUnit and Allure tell a failure the same way.

Reports are read by French vendors and assessors (the PLATINES audience): outcome labels and
failure explanations are French; identifiers, check kinds and raw values stay as they are.
Everything returned here is already redacted.
"""
from __future__ import annotations

import re
from collections import Counter

from harness.outcomes import CheckFailure, Outcome, ScenarioResult
from harness.redaction import redact_text

# A lone surrogate cannot be written as UTF-8; a JSON body can carry one ("\ud800") into any message.
_SURROGATE = re.compile("[\ud800-\udfff]")


def safe_text(text: str) -> str:
    """Redacted text that any UTF-8 file can hold: lone surrogates become U+FFFD."""
    return _SURROGATE.sub("\ufffd", redact_text(text))


OUTCOME_FR = {
    Outcome.PASSED: "réussi",
    Outcome.FAILED: "échoué",
    Outcome.SKIPPED: "ignoré",
    Outcome.INCONCLUSIVE: "non concluant",
}
_PLURAL_FR = {
    Outcome.PASSED: "réussis",
    Outcome.FAILED: "échoués",
    Outcome.SKIPPED: "ignorés",
    Outcome.INCONCLUSIVE: "non concluants",
}


def counts(results: list[ScenarioResult] | tuple[ScenarioResult, ...]) -> dict[str, int]:
    tally = Counter(result.outcome for result in results)
    return {"total": len(results), **{outcome.value: tally.get(outcome, 0) for outcome in Outcome}}


def summary_line(results: list[ScenarioResult] | tuple[ScenarioResult, ...], score: int, duration_s: float) -> str:
    tally = counts(results)
    parts = ", ".join(f"{tally[o.value]} {_PLURAL_FR[o] if tally[o.value] > 1 else OUTCOME_FR[o]}" for o in Outcome)
    noun = "scénario" if tally["total"] == 1 else "scénarios"
    return f"{tally['total']} {noun} : {parts} | score PLATINES {score}/100 | {duration_s:.1f} s"


def issue_line(issue: dict) -> str:
    """One validation issue: severity, where, and the French explanation (the English one if there is none)."""
    where = issue.get("expression") or issue.get("location") or ""
    text = issue.get("message_fr") or issue.get("message") or ""
    head = " ".join(str(part) for part in (issue.get("severity", ""), issue.get("id", "")) if part)
    return redact_text(f"[{head}] {where} : {text}" if where else f"[{head}] {text}")


def failure_text(failure: CheckFailure) -> str:
    """A failed check in the scenario's own terms: which step and YAML line, what was expected, what came."""
    lines = [
        f"Étape « {failure.step} » (ligne {failure.yaml_line} du scénario), vérification {failure.check}",
        f"  attendu : {failure.expected}",
        f"  obtenu  : {failure.actual}",
    ]
    if failure.message_fr:
        lines.append(f"  {failure.message_fr}")
    lines += [f"  - {issue_line(issue)}" for issue in failure.issues]
    return redact_text("\n".join(lines))


def verdict_text(result: ScenarioResult) -> str:
    """Why the scenario ended as it did: its failures, or the reason it was skipped or inconclusive."""
    if result.outcome is Outcome.FAILED:
        return "\n".join(failure_text(failure) for failure in result.failures) or "échec sans détail"
    return redact_text(result.reason)
