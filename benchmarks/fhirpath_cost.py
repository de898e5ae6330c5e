"""Cost of one invariant evaluation: compiled once (the harness) versus parsed every time.

Why: the validator evaluates every constraint of every element of every resource; parsing
(ANTLR) dominates unless expressions are compiled once. Prints microseconds per evaluation,
best of 5 runs, on nodes of the ROR 0.7.0 examples.

Run: .venv/bin/python benchmarks/fhirpath_cost.py
"""
from __future__ import annotations

import timeit

from harness.fhir.fhirpath import FhirPath
from harness.fhir.packages import PackageSet


def _cases() -> list[tuple[str, str, object, str | None, dict]]:
    examples = {r["resourceType"]: r for r in PackageSet("ans.fhir.fr.ror#0.7.0").root.examples()}
    hs, questionnaire = examples["HealthcareService"], examples["Questionnaire"]
    period = hs["availableTime"][0]["extension"][1]["valuePeriod"]
    return [
        ("ext-1", "extension.exists() != value.exists()", hs["extension"][0], "Extension", hs),
        ("ele-1", "hasValue() or (children().count() > id.count())", hs["identifier"][0], "Identifier", hs),
        ("per-1", "start.hasValue().not() or end.hasValue().not() or (start <= end)", period, "Period", hs),
        ("ror-inv-1", "(extension('name').value.where(code='ror-structure' and system='http://hl7.org/fhir/"
         "uv/sdc/CodeSystem/launchContext').exists() implies extension('type').all(value='Location' or "
         "value='HealthcareService' or value='Organization'))", questionnaire["extension"][0], "Extension",
         questionnaire),
    ]


def _best(fn, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> None:
    engine = FhirPath()
    print(f"{'invariant':<10} {'compiled':>10} {'re-parsed':>10}  ratio")
    for name, expr, node, type_, resource in _cases():
        args, compiled = {"type": type_, "resource": resource}, engine.compile(expr)
        hot = _best(lambda c=compiled, n=node, a=args: c.nodes(n, **a), 2000)
        cold = _best(lambda e=expr, n=node, a=args: FhirPath().compile(e).nodes(n, **a), 50)
        print(f"{name:<10} {hot:>8.0f}us {cold:>8.0f}us  x{cold / hot:.0f}")


if __name__ == "__main__":
    main()
