#!/usr/bin/env bash
# Command 2: set everything up (with test-only packages) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
exec .venv/bin/pytest "$@"
