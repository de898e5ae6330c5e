"""Extract the IG's 82 use-case scenarios from the reference transcription into a committed data
file (maintainer tool, run once per refresh of the reference material).

Why a data file: `tools/catalogue_docs.py` and its test must run without `../shared` (the
product never reads it at run time), and a reviewer must be able to see exactly what the
coverage report is measured against. Deterministic: the same source gives the same bytes.

Source: `ror-ig/ig-use-cases.md` (a transcription of the ROR IG 0.7.0 functional and technical
pages, its own provenance in its §0). Read from it, per scenario: the key (`ST1-S1bis`), the IG
page and section, the heading, the anchor, the maturity flag (draft / deprecated / under
consideration), the labels `[spécifique serveur]` / `[BED MANAGEMENT]`, and the request lines
(method and path) or the scenario they refer to ("Requête : voir …").

Run: python tools/extract_ig_scenarios.py [--source ../shared/ror-ig/ig-use-cases.md]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "fixtures" / "ig" / "ig-scenarios.json"
DEFAULT_SOURCE = ROOT.parent / "shared" / "ror-ig" / "ig-use-cases.md"

_SECTION = re.compile(r"^### (3\.\d+) (.+?) — `([^`]+)`")
_BULLET = re.compile(r"^- \*\*([A-Z0-9]+-S\d+[a-z]*) — (.+?)\*\*(.*)$")
_REQUEST = re.compile(r"`((GET|POST|PUT|PATCH|DELETE) \[BASE\]/[^`]*)`")
#: Spec 5 and 6 give their request as a Postman line against the national test server.
_POSTMAN = re.compile(r"Requête Postman : (GET|POST|PUT|PATCH|DELETE) https://[^/\s]+/[^/\s]+/([^\s\"”]+)")
_SEE = re.compile(r"[Rr]equête ?: voir (?:([A-Z0-9]+-S\d+[a-z]*)|SAISIE-S(\d+)|`[^`]*`)")
_FLAG = re.compile(r"\*\*(draft|deprecated|under consideration)\*\*")
_ANCHOR = re.compile(r"`(#[^`]+)`")

#: Labels stated once for a whole section of ig-use-cases.md rather than in each heading.
SECTION_LABELS = {
    "3.9": ("[spécifique serveur]", "§3.9: Every scenario: \"[spécifique serveur]\", \"Cette requête ne pourra être "
                                    "exécutée que par le serveur.\""),
    "3.10": ("[spécifique serveur]", "§3.10: S1–S10: \"[spécifique serveur]\", \"Cette requête ne pourra être exécutée "
                                     "que par le serveur.\""),
}
SECTION_LABEL_EXCEPT = {"MAJOFFRE-S11"}  # "(no server tag, no flag)"


def _resource(path: str) -> tuple[str, str]:
    """(resource type or operation, interaction) of a request path like `Location?x=1` or `Task/687`."""
    target = path.split("?", 1)[0].strip()
    if target.startswith("$"):
        return target, "operation"
    parts = [p for p in target.split("/") if p]
    return parts[0], ("instance" if len(parts) > 1 else "type")


def _interaction(method: str, level: str, path: str) -> str:
    if level == "operation":
        return "operation"
    if method == "GET":
        return "read" if level == "instance" else "search-type"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch" if level == "instance" else "patch (conditional)"
    return method.lower()


def extract(text: str) -> list[dict]:
    scenarios: list[dict] = []
    section: tuple[str, str, str] | None = None
    current: dict | None = None
    lines = text.splitlines()
    for line in lines:
        heading = _SECTION.match(line)
        if heading:
            section = (heading.group(1), heading.group(2).strip(), heading.group(3))
            current = None
            continue
        if line.startswith("## ") or line.startswith("### "):
            section, current = (None, None) if line.startswith("## ") else (section, None)
            continue
        bullet = _BULLET.match(line)
        if bullet and section is not None:
            key, title, rest = bullet.groups()
            current = {"key": key, "section": section[0], "use_case": section[1], "page": section[2],
                       "title": title.strip(), "body": rest}
            scenarios.append(current)
            continue
        if current is not None and line.startswith("  "):
            current["body"] += "\n" + line.strip()
        elif current is not None and line.strip() == "":
            continue
        elif current is not None:
            current = None
    result = []
    for s in scenarios:
        body = s.pop("body")
        first_line = body.split("\n", 1)[0]
        flag = _FLAG.search(first_line)
        anchor = _ANCHOR.search(first_line)
        labels = sorted({m for m in ("[spécifique serveur]", "[BED MANAGEMENT]", "[Bed Management]")
                         if m.lower() in s["title"].lower()})
        labels = ["[BED MANAGEMENT]" if m.lower() == "[bed management]" else m for m in labels]
        section_label = SECTION_LABELS.get(s["section"])
        if section_label and s["key"] not in SECTION_LABEL_EXCEPT and section_label[0] not in labels:
            labels.append(section_label[0])
        requests = []
        for match in _REQUEST.finditer(body):
            line = match.group(1).strip()
            method = match.group(2)
            path = line.split("[BASE]/", 1)[1]
            resource, level = _resource(path)
            requests.append({"request": line, "method": method, "resource": resource,
                             "interaction": _interaction(method, level, path)})
        for match in _POSTMAN.finditer(body):
            method, path = match.group(1), match.group(2).rstrip(".")
            resource, level = _resource(path)
            requests.append({"request": f"{method} [BASE]/{path}", "method": method, "resource": resource,
                             "interaction": _interaction(method, level, path)})
        see = sorted({m.group(1) or f"SAISIE-S{m.group(2)}" for m in _SEE.finditer(body) if m.group(1) or m.group(2)})
        result.append({**s, "anchor": anchor.group(1) if anchor else None,
                       "flag": flag.group(1) if flag else None, "labels": sorted(set(labels)),
                       "requests": _unique(requests), "see": see})
    return result


def _unique(requests: list[dict]) -> list[dict]:
    seen, out = set(), []
    for r in requests:
        if r["request"] not in seen:
            seen.add(r["request"])
            out.append(r)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    raw = args.source.read_bytes()
    scenarios = extract(raw.decode("utf-8"))
    if len(scenarios) != 82 or len({s["key"] for s in scenarios}) != 82:
        raise SystemExit(f"expected the 82 IG scenarios of the transcription, found {len(scenarios)}")
    document = {
        "provenance": {
            "source": "ror-ig/ig-use-cases.md (project reference material, ../shared): transcription of the ROR IG "
                      "ans.fhir.fr.ror 0.7.0 use cases; its §0 names the IG commits it was read from",
            "source_sha256": hashlib.sha256(raw).hexdigest(),
            "extracted_by": "tools/extract_ig_scenarios.py",
            "fields": "key, section/use_case/page of the use case, title (heading), anchor, flag (draft | deprecated "
                      "| under consideration | null), labels ([spécifique serveur], [BED MANAGEMENT]; section-level "
                      "ones from SECTION_LABELS), requests (method, path, resource, interaction), see (scenarios "
                      "whose request this one reuses)",
            "section_labels": {k: v[1] for k, v in SECTION_LABELS.items()},
        },
        "scenarios": scenarios,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(scenarios)} scenarios -> {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
