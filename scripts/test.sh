#!/usr/bin/env bash
# Command 2: set everything up (with test-only packages), type-check, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
# mypy first (configuration in pyproject.toml: geo, api, maps, strict): a type error stops here.
printf '\033[1;34m[test]\033[0m %s\n' "mypy: type-checking geo, api and maps before the tests"
.venv/bin/mypy
exec .venv/bin/pytest "$@"
