"""JUnit XML for CI systems (GitLab, Jenkins, GitHub annotations): one testcase per scenario.

Outcome mapping (see docs/reports.md):
- failed       -> <failure>: the candidate did not conform; the text names step, YAML line,
                  expected and actual, in French, as the other reports do;
- skipped      -> <skipped>: the scenario does not apply or was not selected (reason given);
- inconclusive -> <error type="inconclusive">: JUnit's "the test could not be carried out",
                  which CI tools count apart from failures: the harness or its infrastructure
                  failed, the candidate was not judged (and the PLATINES score ignores it).
Server bytes can hold characters XML 1.0 forbids; they are replaced, never allowed to break the file.
"""
from __future__ import annotations

import re

from lxml import etree

from harness.outcomes import Outcome, ScenarioResult
from harness.redaction import redact_text
from harness.report.events import RunFinished, RunStarted
from harness.report.files import RunFileWriter
from harness.report.wording import counts, failure_text, summary_line

# Everything XML 1.0 does not allow in a document (control characters, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """Redacted text that XML can hold: forbidden characters become U+FFFD."""
    return _NOT_XML.sub("\ufffd", redact_text(text))


def _requests_text(result: ScenarioResult) -> str:
    lines = []
    for exchange in result.exchanges:
        answer = (f"{exchange.response.status} ({exchange.response.elapsed_ms:.0f} ms)" if exchange.response
                  else f"pas de réponse : {exchange.error}")
        lines.append(f"[{exchange.step}, ligne {exchange.yaml_line}] {exchange.request.method} "
                     f"{exchange.request.url} -> {answer}")
    return "\n".join(lines)


def _testcase(parent: etree._Element, result: ScenarioResult, suite: str) -> None:
    classname = ".".join(part for part in (suite, result.role, re.sub(r"\W+", "_", result.area).strip("_")) if part)
    case = etree.SubElement(parent, "testcase", name=xml_text(f"{result.id} — {result.title}"),
                            classname=xml_text(classname), time=f"{result.duration_s:.3f}")
    if result.source:
        case.set("file", xml_text(result.source))
    if result.outcome is Outcome.FAILED:
        first = result.failures[0].message_fr if result.failures else "échec"
        node = etree.SubElement(case, "failure", message=xml_text(first),
                                type=xml_text(result.failures[0].check if result.failures else "failed"))
        node.text = xml_text("\n\n".join(failure_text(f) for f in result.failures) or "échec sans détail")
    elif result.outcome is Outcome.SKIPPED:
        etree.SubElement(case, "skipped", message=xml_text(result.reason or "ignoré"))
    elif result.outcome is Outcome.INCONCLUSIVE:
        node = etree.SubElement(case, "error", type="inconclusive",
                                message=xml_text(f"non concluant : {result.reason}"))
        node.text = xml_text("Le banc de test n'a pas pu conclure ; le candidat n'est pas mis en cause.\n"
                             + result.reason)
    if result.exchanges:
        etree.SubElement(case, "system-out").text = xml_text(_requests_text(result))


def render_junit(started: RunStarted | None, finished: RunFinished, suite: str = "ror-harness") -> bytes:
    tally = counts(finished.results)
    attributes = {"name": suite, "tests": str(tally["total"]), "failures": str(tally["failed"]),
                  "errors": str(tally["inconclusive"]), "skipped": str(tally["skipped"]),
                  "time": f"{finished.duration_s:.3f}"}
    root = etree.Element("testsuites", attributes)
    testsuite = etree.SubElement(root, "testsuite", attributes, timestamp=started.started_at if started else "")
    properties = etree.SubElement(testsuite, "properties")
    values = {"target": started.target if started else "", "ig": started.ig if started else "",
              "role": started.role if started else "", "platines_score": str(finished.score),
              "exit_code": str(finished.exit_code),
              "summary": summary_line(finished.results, finished.score, finished.duration_s)}
    for name, value in values.items():
        etree.SubElement(properties, "property", name=name, value=xml_text(value))
    for result in finished.results:
        _testcase(testsuite, result, suite)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


class JUnitWriter(RunFileWriter):
    def render(self, started: RunStarted | None, finished: RunFinished) -> bytes:
        return render_junit(started, finished)
