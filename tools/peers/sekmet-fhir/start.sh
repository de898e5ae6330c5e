#!/usr/bin/env bash
# Start sekmet-fhir on loopback. The driver (tools/peers/run_peer.py) sets SEKMET_BASE_URL,
# SEKMET_PORT and SEKMET_DB (a fresh SQLite file per run) and runs this from a scratch folder.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$here/.venv/bin/sekmet" serve --config "$here/settings.yaml" --host 127.0.0.1 --port "${SEKMET_PORT:?}"
