"""Run the consumer scenarios with a real third-party FHIR client as the consumer.

    python tools/peers/run_consumer_peer.py CLIENT [--report-dir DIR] [--write-docs]
                                           [--scenario ID ...] [-- EXTRA ror-harness run ARGS]

CLIENT is a folder of tools/peers/ holding a consumer adapter (today: fhirclient). The driver
installs the client in its own virtualenv from its pinned files (or says why it cannot and exits
4), runs `ror-harness run --role consumer --consumer-cmd "<venv python> tools/peers/CLIENT/consumer.py"`
and, with --write-docs, writes docs/peers/CLIENT.md from the run's summary.json and the client's
consumer-verdicts.yaml (why each scenario that does not pass does not pass). Exit: ror-harness run's code,
or 4 when the client cannot be installed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PEERS = Path(__file__).resolve().parent
sys.path.insert(0, str(PEERS))

from peer_base import PeerUnavailable, _run

EXIT_UNAVAILABLE = 4


class FhirClientPeer:
    """SMART on FHIR's Python client (PyPI `fhirclient`), pinned with its dependencies by constraints.txt."""

    name = "fhirclient"
    pinned = "4.4.0"

    @property
    def folder(self) -> Path:
        return PEERS / self.name

    @property
    def python(self) -> Path:
        return self.folder / ".venv" / "bin" / "python"

    def installed(self) -> bool:
        if not self.python.exists():
            return False
        probe = subprocess.run([str(self.python), "-c", "import importlib.metadata as m; print(m.version('fhirclient'))"],
                               capture_output=True, text=True, check=False)
        return probe.returncode == 0 and probe.stdout.strip() == self.pinned

    def install(self) -> None:
        """Raises PeerUnavailable (with pip's last lines) when the pinned client cannot be installed."""
        if self.installed():
            return
        _run([sys.executable, "-m", "venv", "--clear", str(self.folder / ".venv")], self.folder, "python -m venv", timeout=300)
        _run([str(self.python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-c", "constraints.txt",
              f"fhirclient=={self.pinned}"], self.folder, f"pip install fhirclient=={self.pinned} (PyPI)", timeout=300)

    def consumer_cmd(self) -> str:
        return f"{shlex.quote(str(self.python))} {shlex.quote(str(self.folder / 'consumer.py'))}"

    def version(self) -> str:
        return f"fhirclient {self.pinned}"


CLIENTS = {"fhirclient": FhirClientPeer}


def harness_command() -> list[str]:
    exe = ROOT / ".venv" / "bin" / "ror-harness"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "harness.cli"]


def run(name: str, report_dir: Path | None = None, write_docs: bool = False, scenarios: list[str] | None = None,
        extra: list[str] | None = None) -> dict:
    """Install, run, record (report_dir/peer-run.json) and, if asked, write the page."""
    peer = CLIENTS[name]()
    report_dir = (report_dir or ROOT / "reports" / "peers" / name).resolve()
    report_dir.mkdir(parents=True, exist_ok=True)
    record: dict = {"peer": name, "role": "consumer", "report_dir": str(report_dir)}
    began = time.monotonic()
    try:
        peer.install()
    except PeerUnavailable as exc:
        record.update(status="unavailable", reason=str(exc), exit_code=EXIT_UNAVAILABLE)
        return record
    record.update(version=peer.version(), install_s=round(time.monotonic() - began, 1), consumer_cmd=peer.consumer_cmd())
    cmd = [*harness_command(), "run", "--role", "consumer", "--consumer-cmd", peer.consumer_cmd(),
           "--report-dir", str(report_dir), *(f"--scenario={s}" for s in scenarios or ()), *(extra or [])]
    began = time.monotonic()
    done = subprocess.run(cmd, cwd=ROOT, check=False)
    record.update(suite_s=round(time.monotonic() - began, 1), exit_code=done.returncode, status="ran",
                  scenarios_asked=list(scenarios or ()),
                  machine=f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU, Python {platform.python_version()}",
                  date=dt.date.today().isoformat())
    (report_dir / "peer-run.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    if write_docs:
        sys.path.insert(0, str(peer.folder))
        from page import write_page  # tools/peers/CLIENT/page.py

        summary = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
        record["page"] = str(write_page(record, summary))
    return record


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        extra, argv = argv[argv.index("--") + 1:], argv[:argv.index("--")]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("client", choices=sorted(CLIENTS))
    parser.add_argument("--report-dir", type=Path)
    parser.add_argument("--write-docs", action="store_true", help="write docs/peers/CLIENT.md from this run")
    parser.add_argument("--scenario", action="append", default=[], help="run only this consumer scenario (repeatable)")
    args = parser.parse_args(argv)
    record = run(args.client, args.report_dir, args.write_docs, args.scenario, extra)
    if record["status"] == "unavailable":
        print(f"run_consumer_peer: {args.client} unavailable: {record['reason']}", file=sys.stderr)
    else:
        print(f"run_consumer_peer: {record['version']}: suite {record['suite_s']} s, ror-harness exit {record['exit_code']}"
              + (f"; page {record['page']}" if record.get("page") else ""))
    return record["exit_code"]


if __name__ == "__main__":
    sys.exit(main())
