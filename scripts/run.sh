#!/usr/bin/env bash
# Command 1: set everything up, load Jiujiang and the demo registry, serve on 127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
unionmap=.venv/bin/unionmap
$unionmap db start
$unionmap load reference
$unionmap load demo
if [ -z "${DATABASE_URL:-}" ]; then
    # Stop the private cluster when the server stops (Ctrl-C).
    trap '$unionmap db stop' EXIT
fi
echo "unionmap: http://${UNIONMAP_HOST:-127.0.0.1}:${UNIONMAP_PORT:-8000}/maps/stations  (API: /docs)"
$unionmap serve
