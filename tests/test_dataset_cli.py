"""`ror-harness dataset`: files, standard output, usage errors (never a traceback)."""
from __future__ import annotations

import json
import subprocess
import sys

from harness.cli import main


def test_writes_ndjson_file(tmp_path, capsys) -> None:
    out = tmp_path / "small.ndjson"
    assert main(["dataset", "--scale", "small", "--seed", "4", "--out", str(out)]) == 0
    lines = out.read_bytes().splitlines()
    assert len(lines) >= 300 and json.loads(lines[0])["resourceType"] == "Organization"
    assert json.loads(lines[-1])["resourceType"] == "Task"
    assert f"{len(lines)} resources" in capsys.readouterr().err


def test_standard_output_is_the_default_and_matches_the_file(tmp_path) -> None:
    out = tmp_path / "d.ndjson"
    assert main(["dataset", "--scale", "120", "--out", str(out)]) == 0
    run = subprocess.run([sys.executable, "-m", "harness.cli", "dataset", "--scale", "120"],
                         capture_output=True, timeout=120)
    assert run.returncode == 0 and run.stdout == out.read_bytes()


def test_usage_errors(tmp_path, capsys) -> None:
    assert main(["dataset", "--scale", "huge"]) == 2
    assert "unknown scale 'huge'" in capsys.readouterr().err
    assert main(["dataset", "--seed", "x"]) == 2
    assert main(["dataset", "--out", str(tmp_path / "missing" / "d.ndjson")]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "Traceback" not in err


def test_reader_closing_early_is_not_an_error() -> None:
    run = subprocess.run(f"{sys.executable} -m harness.cli dataset --scale 5000 | head -c 100",
                         shell=True, capture_output=True, timeout=120)
    assert len(run.stdout) == 100 and b"Traceback" not in run.stderr
