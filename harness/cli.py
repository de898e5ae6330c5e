"""The `ror-harness` command line: thin, it parses arguments and delegates to the rooms.

Exit codes (all sub-commands): 0 success, 1 findings (errors found, gated failures), 2 usage or
input error, 3 target unreachable.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from harness import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def _cmd_validate(args: argparse.Namespace) -> int:
    from harness.fhir.packages import PackageError
    from harness.fhir.validation import Validator
    from harness.fhir.validation.report import render
    from harness.fhir.validation.sources import iter_inputs

    try:
        validator = Validator(args.ig, tx_url=args.tx)
        if args.profile:
            validator.compiled(args.profile)
    except PackageError as exc:
        print(f"ror-harness validate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    results, input_errors = [], []
    for loaded in iter_inputs(args.paths):
        if loaded.error:
            input_errors.append(loaded.error)
            continue
        results.append(validator.validate(loaded.resource, args.profile, origin=loaded.origin))
    for err in input_errors:
        print(f"ror-harness validate: {err}", file=sys.stderr)
    sys.stdout.write(render(results, args.format))
    if input_errors:
        return EXIT_USAGE
    return EXIT_FINDINGS if any(not r.ok for r in results) else EXIT_OK


def _cmd_dataset(args: argparse.Namespace) -> int:
    from harness.dataset import ScaleError, resolve_scale, write_ndjson

    try:
        resolve_scale(args.scale)
    except ScaleError as exc:
        print(f"ror-harness dataset: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.out == "-":
        try:
            count = write_ndjson(sys.stdout.buffer, args.scale, args.seed)
            sys.stdout.flush()
        except BrokenPipeError:  # the reader stopped early (`| head`): not an error of ours
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_OK
    else:
        try:
            with open(args.out, "wb") as stream:
                count = write_ndjson(stream, args.scale, args.seed)
        except OSError as exc:
            print(f"ror-harness dataset: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
    print(f"ror-harness dataset: {count} resources (scale {args.scale}, seed {args.seed}) written to "
          f"{'standard output' if args.out == '-' else args.out}", file=sys.stderr)
    return EXIT_OK


def _cmd_serve(args: argparse.Namespace) -> int:
    from harness.refserver.faults import list_lines
    from harness.refserver.serve_cli import config_from_args, run

    if args.list_faults:
        print("\n".join(list_lines()))
        return EXIT_OK
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"ror-harness serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return run(config, temporary_db=not args.db)


def _cmd_report(args: argparse.Namespace) -> int:
    from harness.report.html import ReportError, generate_html

    try:
        page = generate_html(args.results, args.out, name=args.name)
    except ReportError as exc:
        print(f"ror-harness report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"ror-harness report: {page}", file=sys.stderr)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ror-harness", description="Conformance test harness for the ROR FHIR API")
    parser.add_argument("--version", action="version", version=f"ror-harness {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    val = sub.add_parser("validate", help="validate resources against the ROR profiles and nomenclatures")
    val.add_argument("paths", nargs="+", help="JSON / NDJSON files or folders (Bundles: entries validated too)")
    val.add_argument("--profile", help="canonical URL of a profile to validate against (default: meta.profile, "
                                       "else the IG's profile for the resource type)")
    val.add_argument("--ig", help="IG package: 0.7.0 (default), 0.1.1, name#version, a folder or a .tgz")
    val.add_argument("--tx", metavar="URL", help="terminology server for value sets not bundled ($validate-code)")
    val.add_argument("--format", choices=("text", "json", "outcome"), default="text")
    val.set_defaults(func=_cmd_validate)
    srv = sub.add_parser("serve", help="run the embedded reference ROR server (FHIR API, OAuth2, $export)")
    srv.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    srv.add_argument("--port", type=int, default=8080, help="port (0: a free port)")
    srv.add_argument("--dataset", default="small", help="small | medium (generated) or an NDJSON file")
    srv.add_argument("--seed", type=int, default=0, help="seed of the generated dataset")
    srv.add_argument("--db", help="SQLite file (default: a temporary one); an existing one is served as is")
    srv.add_argument("--tls-cert", help="server certificate (PEM): serve HTTPS")
    srv.add_argument("--tls-key", help="private key of --tls-cert (PEM)")
    srv.add_argument("--client-ca", help="CA (PEM) of the client certificates (mTLS)")
    srv.add_argument("--require-client-cert", action="store_true", help="refuse TLS connections without a client "
                                                                        "certificate from --client-ca")
    srv.add_argument("--client-id", help="OAuth2 client id of the main client (default ror-harness)")
    srv.add_argument("--client-secret", help="its secret (default ror-harness-secret)")
    srv.add_argument("--fault", action="append", default=[], metavar="NAME",
                     help="switch on a named fault (repeatable; see --list-faults)")
    srv.add_argument("--list-faults", action="store_true", help="print the named faults, one per line, and exit")
    srv.set_defaults(func=_cmd_serve)
    data = sub.add_parser("dataset", help="write the seeded synthetic ROR dataset as NDJSON")
    data.add_argument("--scale", default="small",
                      help="small (a few hundred resources), medium (>= 100,000), national (>= 1,000,000) "
                           "or a number of resources (default: small)")
    data.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same bytes (default: 0)")
    data.add_argument("--out", default="-", metavar="FILE.ndjson", help="output file, - for standard output (default)")
    data.set_defaults(func=_cmd_dataset)
    rep = sub.add_parser("report", help="turn Allure results into the single-file HTML report (Allure 3, Node.js)")
    rep.add_argument("--results", required=True, metavar="DIR", help="Allure results directory (pytest --alluredir)")
    rep.add_argument("--out", required=True, metavar="DIR", help="where to write index.html")
    rep.add_argument("--name", default="ror-harness", help="report title (default: ror-harness)")
    rep.set_defaults(func=_cmd_report)
    from harness.pytest_plugin.command import add_parsers  # `run` and `list`: the scenario engine's commands

    add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help exits 0, usage errors 2
        return int(exc.code or 0)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
