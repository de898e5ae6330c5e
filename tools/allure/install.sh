#!/usr/bin/env bash
# Install the pinned Allure 3 command line (npm package `allure`, see package.json and its lock)
# that `ror-harness report` uses to turn Allure results into the HTML report.
# Needs Node.js >= 20 and npm. Idempotent: does nothing when the pinned version is already there.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v npm >/dev/null 2>&1; then
    echo "tools/allure/install.sh: npm is not installed (Node.js >= 20 and npm are needed for the HTML report)" >&2
    exit 2
fi
wanted=$(node -p "require('./package-lock.json').packages['node_modules/allure'].version")
if [ -f node_modules/allure/package.json ] && \
   [ "$(node -p "require('./node_modules/allure/package.json').version")" = "$wanted" ]; then
    exit 0
fi
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
