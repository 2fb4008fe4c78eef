#!/usr/bin/env bash
# Sets up whatever is missing to build and test lstm-wasm, and does nothing else: safe to run again.
# Made for a Debian/Ubuntu machine with Node 20+ and root; elsewhere it says what to install by hand.
#
#   1. apt packages, only those missing: a Rust toolchain of 1.82 or newer that builds for wasm32
#      (Debian's rustc-web, cargo-web, rust-web-src and lld: the std is built from rust-web-src; they
#      replace Debian's rustc 1.63 packages, which conflict with them and are removed first, saying
#      so), binaryen (wasm-opt) and chromium (for browser tests; skipped when LSTM_WASM_NO_BROWSER=1).
#      If rustup is present, `rustup target add wasm32-unknown-unknown` is tried first.
#   2. npm ci, when node_modules is missing or older than package-lock.json.
#   3. npm run build, when dist/ or the wasm is missing or older than crate/, ts/, Cargo.toml or
#      tsup.config.ts (only the TypeScript half when the crate did not change).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '[ensure] %s\n' "$*"; }
die() { printf '[ensure] error: %s\n' "$*" >&2; exit 1; }

want_browser=1
[[ "${LSTM_WASM_NO_BROWSER:-}" == "1" ]] && want_browser=0

# --- Node ---------------------------------------------------------------------------------------
command -v node >/dev/null 2>&1 || die "Node.js 20 or newer is required: install it (https://nodejs.org or your package manager), then run this again"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
(( node_major >= 20 )) || die "Node.js $(node --version) is too old: lstm-wasm needs Node 20 or newer"

# --- System packages ------------------------------------------------------------------------------
# Each check looks for the files that matter, not for dpkg's records, so that a toolchain installed
# another way (rustup, a hand-built Chromium) counts.
apt_missing=()

# Rust: a rustc that can target wasm32 (see scripts/build-wasm.sh for how one is chosen).
if ! bash scripts/build-wasm.sh --check-toolchain >/dev/null 2>&1; then
  if command -v rustup >/dev/null 2>&1; then
    log "trying: rustup target add wasm32-unknown-unknown"
    if rustup_out="$(timeout 180 rustup target add wasm32-unknown-unknown 2>&1)"; then
      log "rustup added the wasm32 target"
    else
      log "rustup could not add the target ($(grep -m1 -i 'error' <<<"$rustup_out" || echo 'no error message')); falling back to Debian's Rust toolchain"
    fi
  fi
fi
# Debian's rustc 1.63 packages conflict with rustc-web: when the toolchain is missing they go first.
RUST_PACKAGES=(rustc-web cargo-web rust-web-src lld)
OLD_RUST_PACKAGES=(rustc cargo libstd-rust-dev libstd-rust-dev-wasm32)
old_rust=()
if ! bash scripts/build-wasm.sh --check-toolchain >/dev/null 2>&1; then
  apt_missing+=("${RUST_PACKAGES[@]}")
  if command -v dpkg-query >/dev/null 2>&1; then
    for p in "${OLD_RUST_PACKAGES[@]}"; do
      [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == "install ok installed" ]] && old_rust+=("$p")
    done
  fi
fi
# A cargo for the native kernel tests (`cargo test --release` in npm test): any will do.
if ! command -v cargo >/dev/null 2>&1 && [[ ! " ${apt_missing[*]} " == *" cargo-web "* ]]; then
  apt_missing+=(cargo-web)
fi
command -v wasm-opt >/dev/null 2>&1 || apt_missing+=(binaryen)
if (( want_browser )) && [[ ! -x "${LSTM_WASM_CHROMIUM:-/usr/bin/chromium}" ]]; then
  apt_missing+=(chromium)
fi
if (( ${#apt_missing[@]} )); then
  manual="apt-get install -y ${apt_missing[*]}"
  (( ${#old_rust[@]} )) && manual="apt-get remove -y ${old_rust[*]} && $manual"
  if [[ "$(id -u)" != "0" ]]; then
    browser_note=""
    (( want_browser )) && browser_note=$'\n  (chromium is only for the browser tests; LSTM_WASM_NO_BROWSER=1 skips them.)'
    die "missing system packages, and this is not root. Install them by hand:
    sudo apt-get update && sudo $manual
  then run this again.$browser_note"
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    die "missing tools, and apt-get is not available here. Install by hand:
    - a Rust toolchain with the wasm32 target: rustup target add wasm32-unknown-unknown
    - binaryen (wasm-opt), optional: without it the wasm is shipped un-optimized
    - Chromium for the browser tests, with LSTM_WASM_CHROMIUM=/path/to/chromium
      (or set LSTM_WASM_NO_BROWSER=1 to skip them)
  then run this again."
  fi
  export DEBIAN_FRONTEND=noninteractive
  log "installing system packages: ${apt_missing[*]}"
  # The package lists are empty on a fresh machine: refresh them first (.ci/run already did).
  if [[ "${LSTM_WASM_APT_UPDATED:-}" != "1" ]]; then
    apt-get update || die "apt-get update failed. Install by hand: $manual"
  fi
  if (( ${#old_rust[@]} )); then
    log "replacing Debian's Rust $(/usr/bin/rustc --version 2>/dev/null | awk '{print $2}') packages (${old_rust[*]}) with rustc-web: lstm-wasm needs Rust 1.82 or newer, and the two sets conflict"
    apt-get remove -y -q "${old_rust[@]}" || die "apt-get could not remove ${old_rust[*]}. Do it by hand: $manual"
  fi
  apt-get install -y -q --no-install-recommends "${apt_missing[@]}" \
    || die "apt-get could not install: ${apt_missing[*]}. Install them by hand: $manual"
  bash scripts/build-wasm.sh --check-toolchain >/dev/null 2>&1 \
    || die "Rust still cannot build for wasm32 after installing packages; install by hand: apt-get install -y ${RUST_PACKAGES[*]}"
  if (( want_browser )) && [[ ! -x "${LSTM_WASM_CHROMIUM:-/usr/bin/chromium}" ]]; then
    die "chromium was installed but ${LSTM_WASM_CHROMIUM:-/usr/bin/chromium} does not exist (on Ubuntu the apt package is a snap stub):
  install Chromium by hand and set LSTM_WASM_CHROMIUM to it, or set LSTM_WASM_NO_BROWSER=1"
  fi
else
  log "system packages: all present"
fi

# --- npm dependencies ------------------------------------------------------------------------------
# npm writes node_modules/.package-lock.json on every install: it is the stamp of the last install.
stamp=node_modules/.package-lock.json
if [[ ! -f "$stamp" ]]; then
  log "node_modules is missing: npm ci"
  npm ci --no-audit --no-fund
elif [[ package-lock.json -nt "$stamp" ]]; then
  log "package-lock.json is newer than node_modules: npm ci"
  npm ci --no-audit --no-fund
else
  log "node_modules: up to date"
fi

# --- build ------------------------------------------------------------------------------------------
# Prints the first input file newer than any of the given outputs, or a missing output.
first_stale() {
  local -a outputs=() inputs=()
  while [[ $# -gt 0 && "$1" != "--" ]]; do outputs+=("$1"); shift; done
  shift
  inputs=("$@")
  local out
  for out in "${outputs[@]}"; do
    [[ -e "$out" ]] || { echo "$out is missing"; return; }
  done
  local -a newer=()
  for out in "${outputs[@]}"; do newer+=(-newer "$out" -o); done
  unset 'newer[${#newer[@]}-1]'
  local existing=() f
  for f in "${inputs[@]}"; do [[ -e "$f" ]] && existing+=("$f"); done
  (( ${#existing[@]} )) || return 0
  local hit
  hit="$(find "${existing[@]}" -type f \( "${newer[@]}" \) -print -quit)"
  [[ -n "$hit" ]] && echo "$hit is newer than the build"
  return 0
}

wasm_reason="$(first_stale dist/lstm_wasm.wasm dist/lstm_wasm_relaxed.wasm ts/wasm/inline.generated.ts ts/wasm/inline-relaxed.generated.ts -- crate Cargo.toml scripts/build-wasm.sh)"
ts_reason="$(first_stale dist/index.js dist/index.cjs dist/index.d.ts dist/cli.js -- ts tsup.config.ts tsconfig.json)"

if [[ -n "$wasm_reason" ]]; then
  log "building wasm and TypeScript ($wasm_reason): npm run build"
  npm run build
elif [[ -n "$ts_reason" ]]; then
  log "building TypeScript ($ts_reason): npm run build:ts"
  npm run build:ts
else
  log "dist: up to date"
fi
log "ready"
