"""`ror-harness run` and `ror-harness list`: the catalogue checked first, then pytest with the
plugin, against the given target or the embedded reference server.

Exit codes: 0 no failure at the gated priorities, 1 gated failures, 2 usage / scenario file /
configuration error, 3 target unreachable (or the embedded server would not start).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from harness.outcomes import PRIORITY_LABELS

# The engine (pytest, checks, validator) is imported by the commands, not by `ror-harness --help`.
EXIT_USAGE, EXIT_UNREACHABLE = 2, 3


def add_parsers(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run the conformance scenarios against a ROR server (default: the embedded one)")
    run.add_argument("--target", metavar="URL", help="FHIR base URL of the candidate server (default: start the "
                                                     "embedded reference server with the small dataset)")
    run.add_argument("--target-config", metavar="FILE", help="target profile: base URL, auth, TLS, facts (YAML)")
    _selection(run)
    run.add_argument("--scenario", action="append", default=[], metavar="ID", help="run only this scenario (repeatable)")
    run.add_argument("-k", metavar="EXPR", help="pytest keyword expression on ids, areas, roles, priorityN, IG keys")
    run.add_argument("--fail-on", default="1,2", metavar="1,2", help="priorities whose failures make the run fail "
                                                                     "(exit 1); default 1,2")
    run.add_argument("--report-dir", metavar="DIR", help="write Allure results, summary.json and junit.xml here")
    run.add_argument("--junit", metavar="FILE", help="JUnit XML report")
    run.add_argument("--json", metavar="FILE", help="JSON summary")
    run.add_argument("--client-cert", metavar="PEM", help="client certificate for mutual TLS")
    run.add_argument("--client-key", metavar="PEM", help="private key of the client certificate")
    run.add_argument("--ca-bundle", metavar="PEM", help="CA certificates to trust for the target")
    run.add_argument("--ig", help="IG package to validate against (default: ROR 0.7.0)")
    consumer = run.add_argument_group("consumer scenarios (ror-harness plays the ROR)")
    how = consumer.add_mutually_exclusive_group()
    how.add_argument("--consumer-cmd", metavar="CMD", help="command running the consumer under test, once per "
                     "scenario; {base_url} is replaced, instructions come in ROR_* variables (default without "
                     "--target: the example consumer of the repository)")
    how.add_argument("--interactive", action="store_true", help="print each scenario's instructions and wait for "
                     "the requests of an application run by hand")
    consumer.add_argument("--consumer-wait", type=float, default=300.0, metavar="S",
                          help="interactive mode: seconds to wait for the first request of a scenario (default 300)")
    run.set_defaults(func=run_command)
    lst = sub.add_parser("list", help="list the conformance scenarios")
    _selection(lst)
    lst.add_argument("--format", choices=("table", "json"), default="table")
    lst.set_defaults(func=list_command)


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--priority", type=int, choices=(1, 2, 3), help="this priority and the more critical ones")
    parser.add_argument("--role", choices=("server", "consumer"))
    parser.add_argument("--scenarios", action="append", default=[], metavar="DIR",
                        help="scenario folder (repeatable; default: the bundled catalogue)")


def _catalogue(args: argparse.Namespace, command: str) -> tuple[list, list[Path]] | None:
    from harness.pytest_plugin.catalogue import load_catalogue, select
    from harness.pytest_plugin.plugin import BUNDLED_SCENARIOS

    folders = [Path(d).resolve() for d in args.scenarios] or [BUNDLED_SCENARIOS]
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        print(f"ror-harness {command}: scenario folder not found: {', '.join(missing)}", file=sys.stderr)
        return None
    catalogue = load_catalogue(folders, Path.cwd())
    for problem in catalogue.problems:
        print(problem, file=sys.stderr)
    if catalogue.problems:
        print(f"ror-harness {command}: {len(catalogue.problems)} problem(s) in the scenario files: nothing was run",
              file=sys.stderr)
        return None
    return select(catalogue.scenarios, priority=args.priority, role=args.role, ids=getattr(args, "scenario", ())), folders


def list_command(args: argparse.Namespace) -> int:
    found = _catalogue(args, "list")
    if found is None:
        return EXIT_USAGE
    scenarios = found[0]
    if args.format == "json":
        rows = [{"id": s.id, "title": s.title, "priority": s.priority, "priority_label": PRIORITY_LABELS[s.priority],
                 "role": s.role, "area": s.area, "source": s.source, "requirements": list(s.requirements),
                 "ig_scenarios": list(s.ig_scenarios), "proven_by": [p.fault for p in s.proven_by]} for s in scenarios]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    header = ("id", "priorité", "rôle", "domaine", "titre")
    rows = [(s.id, PRIORITY_LABELS[s.priority], s.role, s.area, s.title) for s in scenarios]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4])
    print(f"{len(scenarios)} scénario(s)")
    return 0


def run_command(args: argparse.Namespace) -> int:
    found = _catalogue(args, "run")
    if found is None:
        return EXIT_USAGE
    scenarios, folders = found
    from harness.pytest_plugin.plugin import fail_on
    from harness.scenario import FileError
    from harness.scenario.target import build_profile

    unknown = sorted(set(args.scenario) - {s.id for s in scenarios})
    if unknown or not scenarios:
        why = f"unknown or filtered-out scenario id(s): {', '.join(unknown)}" if unknown else "no scenario selected"
        print(f"ror-harness run: {why} (see `ror-harness list`)", file=sys.stderr)
        return EXIT_USAGE
    if args.consumer_cmd:
        from harness.mock.drivers import command_problem

        problem = command_problem(args.consumer_cmd)
        if problem:
            print(f"ror-harness run: {problem}", file=sys.stderr)
            return EXIT_USAGE
    try:
        fail_on(args.fail_on)
        profile = build_profile(args.target, args.target_config, client_cert=args.client_cert,
                                client_key=args.client_key, ca_bundle=args.ca_bundle)
    except (FileError, ValueError) as exc:
        print(f"ror-harness run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    with tempfile.TemporaryDirectory(prefix="ror-harness-run-") as temp:
        embedded = None
        if args.role == "consumer":  # only the mock is needed: no server to test
            target_options = _target_options(args) + _consumer_options(args, example=profile is None)
        elif profile is None:
            from harness.pytest_plugin.embedded import EmbeddedTarget

            try:
                embedded = EmbeddedTarget()
            except (OSError, RuntimeError) as exc:
                print(f"ror-harness run: the embedded reference server did not start: {exc}", file=sys.stderr)
                return EXIT_UNREACHABLE
            target_options = ["--ror-target-config", str(embedded.write_profile(Path(temp) / "embedded-target.yaml"))]
            target_options += _consumer_options(args, example=True)
        else:
            from harness.http import preflight

            problem = preflight(profile.settings)
            if problem:
                print(f"ror-harness run: {problem}", file=sys.stderr)
                return EXIT_UNREACHABLE
            target_options = _target_options(args) + _consumer_options(args, example=False)
        try:
            return _pytest(args, scenarios, folders, target_options, Path(temp))
        finally:
            if embedded is not None:
                embedded.stop()


def _target_options(args: argparse.Namespace) -> list[str]:
    options = []
    for flag, value in (("--ror-target", args.target), ("--ror-target-config", args.target_config),
                        ("--ror-client-cert", args.client_cert), ("--ror-client-key", args.client_key),
                        ("--ror-ca-bundle", args.ca_bundle)):
        if value:
            options += [flag, str(Path(value).resolve()) if flag != "--ror-target" else value]
    return options


def _consumer_options(args: argparse.Namespace, example: bool) -> list[str]:
    """Who plays the consumer: the named command, a person, or (no target of one's own) the example."""
    if args.interactive:
        return ["--ror-consumer-interactive", "--ror-consumer-wait", str(args.consumer_wait)]
    if args.consumer_cmd:
        return ["--ror-consumer-cmd", args.consumer_cmd]
    return ["--ror-consumer-example"] if example else []


def _pytest(args: argparse.Namespace, scenarios: list, folders: list[Path], target_options: list[str], temp: Path) -> int:
    import pytest

    ini = temp / "pytest.ini"
    ini.write_text("[pytest]\n", encoding="utf-8")  # hermetic: the caller's own pytest settings do not apply
    options = ["-c", str(ini), "--rootdir", str(Path.cwd()), "-p", "ror-harness", "-p", "no:cacheprovider",
               "-q", "--tb=no", "-rN", "--no-header",
               "-W", "ignore::pytest.PytestAssertRewriteWarning", "--ror-fail-on", args.fail_on, *target_options]
    for folder in folders:
        options += ["--ror-scenarios", str(folder)]
    report_dir = Path(args.report_dir) if args.report_dir else None
    json_file = args.json or (report_dir / "summary.json" if report_dir else None)
    junit_file = args.junit or (report_dir / "junit.xml" if report_dir else None)
    options += ["--ror-json", str(json_file)] if json_file else []
    options += ["--ror-junit", str(junit_file)] if junit_file else []
    options += ["--alluredir", str(report_dir / "allure-results"), "--clean-alluredir"] if report_dir else []
    options += ["--ror-ig", args.ig] if args.ig else []
    options += ["--ror-role", args.role] if args.role else []
    options += ["-k", args.k] if args.k else []
    ordered = sorted(scenarios, key=lambda s: s.id)  # reports list scenarios in id order
    code = int(pytest.main([*options, *(str(s.path) for s in ordered)]))
    if report_dir and code in (0, 1):
        _write_html(report_dir)
    return code if code in (0, 1, 2, 3) else EXIT_USAGE


def _write_html(report_dir: Path) -> None:
    """The Allure HTML report, when the Allure CLI is installed; its absence is said, never fatal
    (the verdict and the JSON/JUnit outputs do not depend on it)."""
    from harness.report.html import ReportError, generate_html

    try:
        page = generate_html(report_dir / "allure-results", report_dir / "html")
    except ReportError as exc:
        print(f"ror-harness run: HTML report not written: {exc}", file=sys.stderr)
        return
    print(f"ror-harness run: HTML report: {page}", file=sys.stderr)
