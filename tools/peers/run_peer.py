"""Run the server catalogue against a third-party FHIR server loaded with the ROR dataset.

    python tools/peers/run_peer.py PEER [--scale small|medium|N] [--seed 0] [--report-dir DIR]
                                   [--write-docs] [--keep-running] [-- EXTRA ror-harness run ARGS]

PEER is a folder of tools/peers/ (sekmet-fhir, medplum). The driver installs the peer from its
pinned files (or says why it cannot and exits 4), starts it on a free loopback port, loads the
dataset over HTTP (tools/peers/load_dataset.py), writes a target profile (base URL, no auth, the
facts of the loaded dataset), runs `ror-harness run` and, with --write-docs, writes
docs/peers/PEER.md from the run's summary.json and the peer's verdicts.yaml (one explanation per
scenario that does not pass). Exit: ror-harness run's code, or 4 when the peer is unavailable,
5 when it did not start or the load failed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[2]
PEERS = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(PEERS))

from load_dataset import LoadError, load, restamped, stored_last_updated
from peer_base import Peer, PeerUnavailable, _run

from harness.dataset import generate
from harness.dataset.facts import collect_facts

EXIT_UNAVAILABLE = 4
EXIT_BROKEN = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sekmet(Peer):
    """sekmet-fhir (PyPI), FastAPI + SQLite, in its own virtualenv pinned by constraints.txt."""

    name = "sekmet-fhir"
    pinned = "0.1.1"

    @property
    def venv(self) -> Path:
        return self.folder / ".venv"

    def _installed(self) -> bool:
        exe = self.venv / "bin" / "python"
        if not exe.exists():
            return False
        probe = subprocess.run(check=False, args=[str(exe), "-c", "import importlib.metadata as m; print(m.version('sekmet-fhir'))"],
                               capture_output=True, text=True)
        return probe.returncode == 0 and probe.stdout.strip() == self.pinned

    def install(self) -> None:
        if self._installed():
            return
        _run([sys.executable, "-m", "venv", str(self.venv)], self.folder, "python -m venv")
        _run([str(self.venv / "bin" / "pip"), "install", "-q", "-c", "constraints.txt", f"sekmet-fhir=={self.pinned}"],
             self.folder, f"pip install sekmet-fhir=={self.pinned} (PyPI)")

    def command(self, port: int, workdir: Path) -> tuple[list[str], dict[str, str]]:
        env = {"SEKMET_BASE_URL": self.base_url(port), "SEKMET_PORT": str(port), "SEKMET_DB": str(workdir / "sekmet.db")}
        return ["bash", str(self.folder / "start.sh")], env

    def base_url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}/fhir"

    def version(self) -> str:
        return f"sekmet-fhir {self.pinned}"


PEER_CLASSES: dict[str, type[Peer]] = {"sekmet-fhir": Sekmet}
try:  # the Medplum host lives beside its package.json; it is optional
    from medplum_peer import Medplum

    PEER_CLASSES["medplum"] = Medplum
except ImportError:  # pragma: no cover
    pass


class Started:
    def __init__(self, peer: Peer, workdir: Path) -> None:
        self.port = free_port()
        self.base_url = peer.base_url(self.port)
        cmd, env = peer.command(self.port, workdir)
        self.log = (workdir / "peer.log").open("wb")
        self.process = subprocess.Popen(cmd, cwd=workdir, env={**os.environ, **env}, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the peer exited with {self.process.returncode} before answering")
            try:
                if httpx.get(self.base_url + "/metadata", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"no answer from {self.base_url}/metadata within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        self.log.close()


def write_profile(path: Path, base_url: str, label: str, facts: dict) -> Path:
    data = {"label": label, "base_url": base_url, "facts": facts}  # no auth: the peers have none
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def run(peer_name: str, scale: str = "small", seed: int = 0, report_dir: Path | None = None,
        write_docs: bool = False, extra: list[str] | None = None, keep_running: bool = False) -> dict:
    """The whole sequence; returns a record (also written as report_dir/peer-run.json)."""
    peer = PEER_CLASSES[peer_name]()
    report_dir = (report_dir or ROOT / "reports" / "peers" / peer_name).resolve()
    report_dir.mkdir(parents=True, exist_ok=True)
    record: dict = {"peer": peer_name, "scale": scale, "seed": seed, "report_dir": str(report_dir)}
    try:
        peer.install()
    except PeerUnavailable as exc:
        record.update(status="unavailable", reason=str(exc), exit_code=EXIT_UNAVAILABLE)
        return record
    record["version"] = peer.version()
    workdir = Path(tempfile.mkdtemp(prefix=f"ror-peer-{peer_name}-"))
    started = Started(peer, workdir)
    try:
        try:
            started.wait_ready()
            samples: dict[str, dict] = {}  # the first resource of each type, to read back after the load

            def sampled(resources):
                for resource in resources:
                    samples.setdefault(resource["resourceType"], resource)
                    yield resource

            count, load_s = load(started.base_url, sampled(generate(scale, seed)), peer.batch, peer.bundle_type,
                                 progress=True, headers=peer.load_headers)
            began = time.monotonic()
            stamps = stored_last_updated(started.base_url, samples, headers=peer.load_headers)
            facts = collect_facts(restamped(generate(scale, seed), stamps))
        except (RuntimeError, LoadError, httpx.HTTPError) as exc:
            log = (workdir / "peer.log").read_text(errors="replace")[-2000:]
            record.update(status="broken", reason=f"{exc}\n--- peer log (end) ---\n{log}", exit_code=EXIT_BROKEN)
            return record
        record.update(resources=count, load_s=round(load_s, 1), base_url=started.base_url,
                      bundle=f"{peer.bundle_type} Bundles of {peer.batch} PUT",
                      last_updated=(f"set by the peer at load: {len(stamps)} meta.lastUpdated read back by search "
                                    f"({time.monotonic() - began:.1f} s, facts computed from them)" if stamps
                                    else "the dataset's, kept by the peer"))
        profile = write_profile(report_dir / "target.yaml", started.base_url,
                                f"{peer.version()} (pair, jeu {scale}, graine {seed})", facts)
        # --role server: a peer is a candidate ROR server; the consumer scenarios never apply to it
        cmd = [sys.executable, "-m", "harness.cli", "run", "--role", "server", "--target", started.base_url,
               "--target-config", str(profile), "--report-dir", str(report_dir), *(extra or [])]
        began = time.monotonic()
        done = subprocess.run(cmd, cwd=ROOT, check=False)
        record.update(suite_s=round(time.monotonic() - began, 1), exit_code=done.returncode, status="ran")
        if keep_running:
            print(f"{peer_name} still running at {started.base_url}; Ctrl-C to stop", flush=True)
            try:
                started.process.wait()
            except KeyboardInterrupt:
                pass
    finally:
        started.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    record["machine"] = f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU, Python {platform.python_version()}"
    record["date"] = dt.date.today().isoformat()
    (report_dir / "peer-run.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    if write_docs:
        from results_page import write_page

        write_page(peer_name, record, json.loads((report_dir / "summary.json").read_text(encoding="utf-8")))
    return record


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("peer", choices=sorted(PEER_CLASSES))
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report-dir", type=Path)
    parser.add_argument("--write-docs", action="store_true", help="write docs/peers/PEER.md from this run")
    parser.add_argument("--keep-running", action="store_true")
    args = parser.parse_args(argv)
    record = run(args.peer, args.scale, args.seed, args.report_dir, args.write_docs, extra, args.keep_running)
    if record["status"] == "unavailable":
        print(f"run_peer: {args.peer} unavailable: {record['reason']}", file=sys.stderr)
    elif record["status"] == "broken":
        print(f"run_peer: {args.peer} did not start or load: {record['reason']}", file=sys.stderr)
    else:
        print(f"run_peer: {args.peer}: {record['resources']} resources loaded in {record['load_s']} s, "
              f"suite {record['suite_s']} s, ror-harness exit {record['exit_code']}")
    return record["exit_code"]


if __name__ == "__main__":
    sys.exit(main())
