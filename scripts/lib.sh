# Shared helpers for scripts/run and scripts/test. Source it; do not run it.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
# One target dir for every build of the workspace.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
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

# System packages every build needs (C toolchain for bundled SQLite and libjpeg-turbo).
install_build_deps() {
    apt_install build-essential pkg-config cmake nasm
}

ensure_nextest() {
    if ! cargo nextest --version >/dev/null 2>&1; then
        say "installing cargo-nextest"
        cargo install cargo-nextest --locked
    fi
}
