"""How the consumer under test is made to act, once per scenario: by running a command
(`--consumer-cmd`), or by asking a person (interactive mode).

Either way the driver only decides when the consumer is done; what it sent is in the recorder.
A command is judged on its exit code and output too; a person's application is not (there is no
exit code to read), which the report says.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from harness.mock.recorder import Recorder

#: How often the drivers look at the consumer and the recorder.
POLL_S = 0.02
#: How much of the consumer's output is kept (its end: where errors are reported).
MAX_OUTPUT_BYTES = 1 << 20


@dataclass(frozen=True)
class Ending:
    """How the consumer's turn ended."""

    code: int | None = None  # exit code (None: stopped, or no process)
    output: str = ""  # stdout + stderr
    stopped: str = ""  # why the harness stopped it (French), "" when it ended by itself
    exit_observed: bool = True  # False in interactive mode: exit code and output are not judged


class Driver(Protocol):
    def drive(self, scenario_id: str, title: str, env: dict[str, str], timeout_s: float, recorder: Recorder,
              max_requests: int) -> Ending: ...


def _looping(recorder: Recorder, max_requests: int) -> str:
    return f"plus de {max_requests} requêtes : le consommateur boucle, arrêté" if recorder.count() > max_requests else ""


def command_problem(command: str) -> str | None:
    """Why a consumer command cannot run (said once, before any scenario), or None."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        return f"the consumer command cannot be parsed: {exc}"
    if not argv:
        return "the consumer command is empty"
    if shutil.which(argv[0]) is None:
        return f"the consumer command's program is not found or not executable: {argv[0]}"
    return None


class CommandDriver:
    """Runs `command` per scenario, with the scenario's environment; `{base_url}`, `{token_url}`,
    `{scenario}` and `{task}` in the command are replaced."""

    def __init__(self, command: str) -> None:
        self.argv = shlex.split(command)  # checked beforehand by command_problem

    def drive(self, scenario_id: str, title: str, env: dict[str, str], timeout_s: float, recorder: Recorder,
              max_requests: int) -> Ending:
        values = {"base_url": env["ROR_BASE_URL"], "token_url": env["ROR_TOKEN_URL"], "scenario": scenario_id,
                  "task": env["ROR_TASK"]}
        argv = [part.format_map(values) if "{" in part else part for part in self.argv]
        with tempfile.TemporaryFile() as output:
            process = subprocess.Popen(argv, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL)
            deadline, stopped = time.monotonic() + timeout_s, ""
            while process.poll() is None:
                stopped = f"le consommateur n'a pas fini en {timeout_s:g} s : arrêté" if time.monotonic() > deadline \
                    else _looping(recorder, max_requests)
                if stopped:
                    process.kill()
                    process.wait()
                    break
                time.sleep(POLL_S)
            size = output.seek(0, os.SEEK_END)
            output.seek(max(0, size - MAX_OUTPUT_BYTES))  # a flood of output is judged on its end
            text = output.read().decode("utf-8", "replace")
        return Ending(None if stopped else process.returncode, text, stopped)


class InteractiveDriver:
    """Tells a person what to do and waits for their application's requests.

    The scenario's variables, the client secret among them, go to a file readable by its owner
    only (`ror-mock.env`, in `folder`); the terminal shows its path, never the secret. The turn
    ends `quiet_s` seconds after the last request, or when nothing came in `wait_s` seconds.
    """

    def __init__(self, folder: Path, write: Callable[[str], None] | None = None, wait_s: float = 300.0,
                 quiet_s: float = 5.0) -> None:
        self.folder, self.wait_s, self.quiet_s = folder, wait_s, quiet_s
        self.write = write or (lambda text: (sys.stderr.write(text), sys.stderr.flush()))

    def env_file(self, env: dict[str, str]) -> Path:
        path = self.folder / "ror-mock.env"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("".join(f"export {k}={shlex.quote(v)}\n" for k, v in sorted(env.items())))
        return path

    def drive(self, scenario_id: str, title: str, env: dict[str, str], timeout_s: float, recorder: Recorder,
              max_requests: int) -> Ending:
        path = self.env_file(env)
        params = "".join(f"  {k} = {v}\n" for k, v in sorted(env.items()) if k.startswith("ROR_PARAM_"))
        if env.get("ROR_CA_BUNDLE"):
            params += f"  AC à approuver : {env['ROR_CA_BUNDLE']} ; certificat client : {env.get('ROR_CLIENT_CERT', '—')}\n"
        self.write(f"\n=== {scenario_id} — {title}\n{env['ROR_INSTRUCTIONS']}\n"
                   f"  ROR simulé : {env['ROR_BASE_URL']}  (jeton : {env['ROR_TOKEN_URL']}, client {env['ROR_CLIENT_ID']})\n"
                   f"{params}  toutes les variables (secret compris) : source {path}\n"
                   f"  en attente des requêtes ({self.wait_s:g} s au plus ; fin {self.quiet_s:g} s après la dernière)\n")
        started, last_count, last_at = time.monotonic(), 0, None
        while True:
            now, count = time.monotonic(), recorder.count()
            if count != last_count:
                last_count, last_at = count, now
            stopped = _looping(recorder, max_requests)
            if stopped:
                return Ending(stopped=stopped, exit_observed=False)
            if last_at is None and now - started > self.wait_s:
                return Ending(stopped=f"aucune requête reçue en {self.wait_s:g} s", exit_observed=False)
            if last_at is not None and now - last_at > self.quiet_s:
                self.write(f"  {count} requête(s) reçue(s) : jugement du scénario\n")
                return Ending(exit_observed=False)
            time.sleep(POLL_S * 5)
