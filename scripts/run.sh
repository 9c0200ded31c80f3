#!/usr/bin/env bash
# Command 1: set everything up, load Jiujiang and the demo registry, serve on 127.0.0.1:8000.
#   scripts/run.sh --province 360000   the same, plus every prefecture of the province (each a region of its
#                                      own, counties as units where no township list is given) and its roll-up
set -euo pipefail
cd "$(dirname "$0")/.."
province=""
if [ "${1:-}" = "--province" ]; then
    province="${2:?--province needs a province code, e.g. 360000}"
fi
scripts/setup.sh
unionmap=.venv/bin/unionmap
$unionmap db start
$unionmap load reference
$unionmap load demo
if [ -n "$province" ]; then
    # The prefectures' folders are build products under .state/regions (written once; kept after that).
    [ -f ".state/regions/$province/province.yaml" ] || $unionmap region init-province "$province"
    $unionmap load province "$province"
fi
if [ -z "${DATABASE_URL:-}" ]; then
    # Stop the private cluster when the server stops (Ctrl-C).
    trap '$unionmap db stop' EXIT
fi
echo "unionmap: http://${UNIONMAP_HOST:-127.0.0.1}:${UNIONMAP_PORT:-8000}/maps/stations  (API: /docs)"
[ -z "$province" ] || echo "province roll-up: http://${UNIONMAP_HOST:-127.0.0.1}:${UNIONMAP_PORT:-8000}/r/$province/"
$unionmap serve
