"""The HTML report: Allure results turned into one self-contained page by the Allure 3 command line.

One file (the "awesome" report's single-file mode) so an assessor can mail it or archive it
with the run. The Allure 3 page template loads Google Analytics unconditionally (there is no
option to turn it off in allure 3.18.0), and an assessor's browser must not call a tracker
when opening a conformance report: the analytics scripts are removed from the generated page,
and the result is checked to hold none.

The command line is the npm package `allure`, pinned in tools/allure/package.json and its
lock, installed by tools/allure/install.sh. ROR_HARNESS_ALLURE_DIR points elsewhere if needed.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from harness.redaction import redact_text

TOOLS_DIR = Path(__file__).resolve().parents[2] / "tools" / "allure"
GENERATE_TIMEOUT_S = 600
# A <script> element, attributes and content (the bundled app is a data: URI in `src`, never inline).
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>\s*", re.DOTALL | re.IGNORECASE)
_TRACKING = re.compile(r"googletagmanager|google-analytics|gtag\(|dataLayer", re.IGNORECASE)
_TRACKER_HOSTS = re.compile(r"googletagmanager\.com|google-analytics\.com", re.IGNORECASE)


class ReportError(Exception):
    """The HTML report cannot be made; the message says what to install or fix."""


def allure_cli(tools_dir: Path | None = None) -> list[str]:
    """The command that runs the pinned Allure 3 CLI, or ReportError saying what is missing."""
    folder = Path(tools_dir or os.environ.get("ROR_HARNESS_ALLURE_DIR") or TOOLS_DIR)
    node = shutil.which("node")
    if node is None:
        raise ReportError("Node.js is not installed (no `node` on PATH): install Node.js 20 or later and npm, "
                          "then run tools/allure/install.sh")
    cli = folder / "node_modules" / "allure" / "cli.js"
    if not cli.is_file():
        hint = "npm is not installed either; install it, then " if shutil.which("npm") is None else ""
        raise ReportError(f"the Allure 3 command line is not installed in {folder}: {hint}run tools/allure/install.sh")
    return [node, str(cli)]


def strip_analytics(html: str) -> str:
    """The page without the script elements that load or feed an analytics tracker."""
    return _SCRIPT.sub(lambda m: "" if _TRACKING.search(m.group(0)) else m.group(0), html)


def _config(folder: Path, name: str) -> Path:
    options = {"singleFile": True, "reportLanguage": "fr", "reportName": name, "groupBy": ["epic", "feature"]}
    config = folder / "allurerc.mjs"
    config.write_text(f"export default {json.dumps({'name': name, 'plugins': {'awesome': {'options': options}}})};\n",
                      encoding="utf-8")
    return config


def generate_html(results_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str], *,
                  name: str = "ror-harness", tools_dir: Path | None = None) -> Path:
    """Write the single-file report into `out_dir` and return the page's path."""
    results, out = Path(results_dir), Path(out_dir)
    if not results.is_dir() or not any(results.glob("*-result.json")):
        raise ReportError(f"no Allure results in {results} (run the scenarios with --alluredir {results} first)")
    command = allure_cli(tools_dir)
    with tempfile.TemporaryDirectory(prefix="ror-harness-allure-") as scratch:
        config = _config(Path(scratch), name)
        try:
            done = subprocess.run([*command, "generate", str(results.resolve()), "--config", str(config),
                                   "--output", str(out.resolve())], cwd=scratch, capture_output=True, text=True,
                                  timeout=GENERATE_TIMEOUT_S, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise ReportError(f"the Allure command line did not finish within {GENERATE_TIMEOUT_S} s") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-10:])
        raise ReportError(redact_text(f"the Allure command line failed (exit {done.returncode}):\n{tail}"))
    page = out / "index.html"
    if not page.is_file():
        raise ReportError(f"the Allure command line wrote no {page}")
    for html in out.rglob("*.html"):
        cleaned = strip_analytics(html.read_text(encoding="utf-8"))
        if _TRACKER_HOSTS.search(cleaned):
            raise ReportError(f"{html} still loads an analytics script after cleaning: report withheld")
        html.write_text(cleaned, encoding="utf-8")
    return page
