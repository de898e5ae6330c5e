#!/usr/bin/env bash
# Install ror-harness with its test extras in .venv and run the test suite.
# (The README's second command; .ci/run calls it.)
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
# The Allure 3 CLI for the HTML report tests; without Node.js/npm those tests are skipped, not failed.
tools/allure/install.sh || echo "scripts/test.sh: Allure CLI not installed, HTML report tests will be skipped" >&2
exec .venv/bin/python -m pytest -n 2 "$@"
