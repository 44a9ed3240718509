# Shared helpers for scripts/run and scripts/test. Source it; do not run it.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
# One target dir for every build of the workspace.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
# No incremental caches: these scripts build once per run, and the caches cost gigabytes
# of disk on a CI machine (set CARGO_INCREMENTAL=1 to keep them).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# Shared test data (read-only), beside the checkout.
export GRIDWALK_TESTDATA="${GRIDWALK_TESTDATA:-$ROOT/../shared/testdata}"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# Installs Debian packages that are missing (needs root or sudo).
apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing Debian packages: ${missing[*]}"
    local SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends "${missing[@]}"
}

# System packages every build needs: a C toolchain (bundled SQLite, libjpeg-turbo with
# cmake and nasm), WebKitGTK for the Tauri app (see docs/tauri-on-linux notes) and libdbus
# for the device crate's OS keyring (the Secret Service, docs/security.md).
install_build_deps() {
    apt_install build-essential pkg-config file cmake nasm \
        libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev \
        libssl-dev libxdo-dev libdbus-1-dev
}

# Builds the web UI into ui/dist (the Tauri crate embeds it at compile time).
build_ui() {
    if [ -f "$ROOT/ui/package.json" ]; then
        say "building the UI (npm install, vite build)"
        # npm install, not npm ci: npm 11 leaves a platform-only optional dependency of
        # vite out of the lock file, and npm ci then refuses the lock.
        (cd "$ROOT/ui" && npm install --no-audit --no-fund && npm run build)
    else
        mkdir -p "$ROOT/ui/dist"
        [ -f "$ROOT/ui/dist/index.html" ] || echo '<!doctype html><meta charset="utf-8"><title>网格巡查</title>' > "$ROOT/ui/dist/index.html"
    fi
}

# Builds the officer console into console/dist (gridwalk-server serves it at /console/).
# It shares ui/'s i18n core (ui/src/lib/i18n/core.ts), whose TypeScript settings extend
# a package of ui/node_modules: ui's packages are installed too.
build_console() {
    say "building the officer console (npm install, vite build)"
    (cd "$ROOT/ui" && npm install --no-audit --no-fund)
    (cd "$ROOT/console" && npm install --no-audit --no-fund && npm run build)
}

ensure_nextest() {
    if ! cargo nextest --version >/dev/null 2>&1; then
        say "installing cargo-nextest"
        cargo install cargo-nextest --locked
    fi
}
