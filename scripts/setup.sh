#!/usr/bin/env bash
# Install everything unionmap needs on a fresh Debian 12 machine; safe to run again.
#   scripts/setup.sh          runtime: PostGIS, Python venv with the project, Leaflet assets
#   scripts/setup.sh --test   the same plus test-only packages
set -euo pipefail
cd "$(dirname "$0")/.."
with_test=0
[ "${1:-}" = "--test" ] && with_test=1

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

need_apt=()
[ -f /usr/share/postgresql/15/extension/postgis.control ] || need_apt+=(postgresql-15-postgis-3)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_apt+=(postgresql-15)
command -v npm >/dev/null || need_apt+=(npm)
python3 -c 'import ensurepip' 2>/dev/null || need_apt+=(python3-venv)
if [ "$with_test" = 1 ]; then
    # GDAL's command-line tools: the OGC API tests read the service with a client nobody here wrote.
    command -v ogrinfo >/dev/null || need_apt+=(gdal-bin)
    # QGIS 3.22, headless: tests/api/test_qgis.py opens, filters and saves every OGC collection as a
    # QGIS user does (python3-qgis is for the system Python; it pulls qgis-providers, home of OAPIF).
    [ -f /usr/lib/python3/dist-packages/qgis/core/__init__.py ] && [ -f /usr/lib/qgis/plugins/libprovider_wfs.so ] \
        || need_apt+=(python3-qgis qgis-providers)
    # Browser tests: Debian's Chromium driven by Playwright (never a downloaded browser), and
    # CJK fonts so screenshots show Chinese text rather than boxes.
    [ -x /usr/bin/chromium ] || need_apt+=(chromium)
    [ -d /usr/share/fonts/opentype/noto ] || need_apt+=(fonts-noto-cjk)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
    say "apt-get install ${need_apt[*]}"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    say "creating .venv"
    python3 -m venv .venv
fi
stamp=.venv/.unionmap-installed
extras=""; [ "$with_test" = 1 ] && extras="[test]"
want="$(sha1sum pyproject.toml | cut -c1-12)$extras"
if [ ! -f "$stamp" ] || ! grep -qxF "$want" "$stamp"; then
    say "pip install -e .$extras"
    .venv/bin/pip install -q --disable-pip-version-check -e ".$extras"
    echo "$want" > "$stamp"
fi

# Leaflet, Bootstrap, Font Awesome ... for Folium, from the npm registry: the app serves them
# itself, so no page depends on a CDN.
assets=maps/assets
if [ ! -f "$assets/node_modules/.package-lock.json" ] || [ "$assets/package-lock.json" -nt "$assets/node_modules/.package-lock.json" ]; then
    say "npm ci (map assets)"
    (cd "$assets" && npm ci --silent --no-audit --no-fund --ignore-scripts)
fi
say "ready"
