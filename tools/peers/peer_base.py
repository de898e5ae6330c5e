"""What every peer host provides to tools/peers/run_peer.py (kept apart so that peer modules
import it without importing the driver)."""
from __future__ import annotations

import subprocess
from pathlib import Path

PEERS = Path(__file__).resolve().parent


class PeerUnavailable(RuntimeError):
    """The peer cannot be installed or run on this machine; the message says why."""


def _run(cmd: list[str], cwd: Path, what: str, timeout: float = 900) -> None:
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PeerUnavailable(f"{what}: {exc}") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise PeerUnavailable(f"{what} failed (exit {done.returncode}): {' | '.join(tail)}")


class Peer:
    name = ""
    bundle_type = "batch"
    batch = 200
    load_headers: dict[str, str] = {}  # extra headers the loader sends (e.g. a host's seeding switch)

    @property
    def folder(self) -> Path:
        return PEERS / self.name

    def install(self) -> None:  # raises PeerUnavailable
        raise NotImplementedError

    def command(self, port: int, workdir: Path) -> tuple[list[str], dict[str, str]]:
        raise NotImplementedError

    def base_url(self, port: int) -> str:
        raise NotImplementedError

    def version(self) -> str:
        return ""
