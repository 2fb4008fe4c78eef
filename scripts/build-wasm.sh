#!/usr/bin/env bash
# Builds the Rust crate (crate/, Cargo.toml at the repo root) for wasm32 twice and publishes both:
#   dist/lstm_wasm.wasm                   SIMD128: every engine with WebAssembly SIMD
#   dist/lstm_wasm_relaxed.wasm           SIMD128 + relaxed SIMD (f32x4.relaxed_madd, the int8
#                                         relaxed dot product): Chrome 114+, Firefox 145+, Node 22+
#   ts/wasm/inline.generated.ts           the SIMD128 module gzipped, as base64, inlined into the package
#   ts/wasm/inline-relaxed.generated.ts   the relaxed module, likewise (each its own chunk: see ts/wasm/inlined.ts)
#
#   bash scripts/build-wasm.sh                   build
#   bash scripts/build-wasm.sh --check-toolchain exit 0 if a rustc with the wasm32 std is found
#
# Toolchain: the first rustc of release 1.MIN_RUST_MINOR or newer that can build for wasm32, from
# $RUSTC, then `rustc` on PATH (rustup's, once `rustup target add wasm32-unknown-unknown` worked),
# then Debian's /usr/bin/rustc (apt packages rustc-web + cargo-web + rust-web-src + lld: the std is
# built from rust-web-src, see find_toolchain), driven by the cargo that sits beside it: a cargo and
# a rustc of different releases do not always agree on flags.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly TARGET=wasm32-unknown-unknown
readonly CRATE_ARTIFACT=lstm_wasm_core.wasm
# 1.82 has the relaxed-SIMD intrinsics (core::arch::wasm32::f32x4_relaxed_madd, ...) and LLVM 19.
readonly MIN_RUST_MINOR=82

log() { printf '[build-wasm] %s\n' "$*"; }
die() { printf '[build-wasm] error: %s\n' "$*" >&2; exit 1; }

# Sets WASM_RUSTC, WASM_CARGO and STD_SOURCE, or returns 1. A rustc qualifies with the wasm32 std
# prebuilt in its sysroot (rustup's target; STD_SOURCE empty), or
# with the standard library's sources and their vendored dependencies (Debian's rust-web-src for
# rustc-web: STD_SOURCE is that library/ folder, and the std is built with -Zbuild-std, offline).
find_toolchain() {
  local candidates=() rc sysroot cargo
  [[ -n "${RUSTC:-}" ]] && candidates+=("$(command -v "$RUSTC" || true)")
  candidates+=("$(command -v rustc || true)" /usr/bin/rustc)
  for rc in "${candidates[@]}"; do
    [[ -n "$rc" && -x "$rc" ]] || continue
    local minor
    minor="$("$rc" --version 2>/dev/null | sed -nE 's/^rustc 1\.([0-9]+).*/\1/p')"
    [[ "$minor" =~ ^[0-9]+$ ]] && (( minor >= MIN_RUST_MINOR )) || continue
    sysroot="$("$rc" --print sysroot 2>/dev/null)" || continue
    cargo="$(dirname "$rc")/cargo"
    [[ -x "$cargo" ]] || continue
    if [[ -d "$sysroot/lib/rustlib/$TARGET" ]]; then
      STD_SOURCE=""
    elif [[ -f "$sysroot/lib/rustlib/src/rust/library/Cargo.lock" && -d "$sysroot/lib/rustlib/src/rust/library/vendor" ]]; then
      STD_SOURCE="$(cd "$sysroot/lib/rustlib/src/rust/library" && pwd -P)"
    else
      continue
    fi
    WASM_RUSTC="$rc"
    WASM_CARGO="$cargo"
    return 0
  done
  return 1
}

if [[ "${1:-}" == "--check-toolchain" ]]; then
  if find_toolchain; then
    log "toolchain: $WASM_RUSTC ($("$WASM_RUSTC" --version)) with $WASM_CARGO"
    exit 0
  fi
  exit 1
fi

find_toolchain || die "no rustc 1.$MIN_RUST_MINOR or newer that can build for $TARGET was found.
  With rustup:        rustup target add $TARGET
  On Debian 12:       apt-get install -y rustc-web cargo-web rust-web-src lld
                      (they replace the rustc, cargo and libstd-rust-dev* packages: remove those first)
  (or run: bash scripts/ensure.sh, which does that)"

cargo_version="$("$WASM_CARGO" --version)"
log "rustc: $WASM_RUSTC ($("$WASM_RUSTC" --version))"
log "cargo: $WASM_CARGO ($cargo_version)"

# A newer cargo (1.83+) writes Cargo.lock version 4, which cargo < 1.78 refuses to read. The crate has
# no dependencies, so versions 3 and 4 of its lock file say the same thing: step it down.
cargo_minor="$(sed -E 's/^cargo 1\.([0-9]+).*/\1/' <<<"$cargo_version")"
if [[ -f Cargo.lock && "$cargo_minor" =~ ^[0-9]+$ && "$cargo_minor" -lt 78 ]] \
   && grep -qx 'version = 4' Cargo.lock; then
  log "Cargo.lock is version 4, which $cargo_version cannot read; rewriting it as version 3"
  sed -i 's/^version = 4$/version = 3/' Cargo.lock
fi

# --remap-path-prefix keeps this machine's paths out of the shipped binary (panic locations).
common_flags="-C llvm-args=-disable-lsr --remap-path-prefix=$PWD=."
build_std=()
if [[ -n "$STD_SOURCE" ]]; then
  # No prebuilt wasm32 std: build it from the library sources, its dependencies from their vendored
  # copies (a source replacement for crates.io), offline. -Z flags on a stable rustc need RUSTC_BOOTSTRAP.
  log "std: built from $STD_SOURCE (-Zbuild-std, vendored dependencies, offline)"
  build_std=(-Zbuild-std=std,panic_abort --offline
    --config "source.crates-io.replace-with='vendored-std'"
    --config "source.vendored-std.directory='$STD_SOURCE/vendor'")
  export RUSTC_BOOTSTRAP=1
  common_flags+=" --remap-path-prefix=$STD_SOURCE=/rust/library --remap-path-prefix=$("$WASM_RUSTC" --print sysroot)/lib/rustlib/src/rust/library=/rust/library"
fi
# rustc links wasm32 with rust-lld; Debian's rustc-web has none, so LLVM's wasm-ld (apt package lld) links.
if ! command -v rust-lld >/dev/null 2>&1 && [[ ! -x "$(dirname "$WASM_RUSTC")/rust-lld" ]]; then
  command -v wasm-ld >/dev/null 2>&1 || die "no linker for $TARGET: install lld (apt-get install -y lld), which has wasm-ld"
  common_flags+=" -C linker=$(command -v wasm-ld)"
fi

# wasm-opt: binaryen from npm (a devDependency, version 132) reads relaxed SIMD; Debian 12's
# binaryen 108 does not, so it optimizes the SIMD128 build only.
WASM_OPT=""
WASM_OPT_RELAXED=0
if [[ -x node_modules/.bin/wasm-opt ]]; then
  WASM_OPT=node_modules/.bin/wasm-opt
  WASM_OPT_RELAXED=1
elif command -v wasm-opt >/dev/null 2>&1; then
  WASM_OPT="$(command -v wasm-opt)"
fi

# build_variant NAME CARGO_FEATURES TARGET_DIR DIST_WASM INLINE_TS
# The relaxed build is the cargo feature `relaxed` (which kernels use relaxed instructions: crate/simd.rs)
# with the target feature relaxed-simd.
build_variant() {
  local name="$1" features="$2" target_dir="$3" dist_wasm="$4" inline_ts="$5"
  local target_features=+simd128
  [[ "$features" == relaxed ]] && target_features+=,+relaxed-simd
  # -disable-lsr: LLVM's loop strength reduction turns the kernels' `ptr + constant` loads into
  # separate i32 adds (which V8 then emits as one lea per load) instead of folding them into the
  # load's offset immediate. Without it the 4x8 sgemm kernel runs 12% faster (512^3: 28.0 -> 31.5
  # GFLOP/s) and the LSTM kernels 5-15% faster, measured interleaved in one process; the GEMV is
  # unchanged.
  log "$name: cargo build --release --target $TARGET ($target_features, -disable-lsr, features: ${features:-none}) into $target_dir"
  # Each build has its own target directory: the flags differ, so they would rebuild each other.
  CARGO_TARGET_DIR="$target_dir" RUSTC="$WASM_RUSTC" \
    RUSTFLAGS="-C target-feature=$target_features $common_flags ${LSTM_WASM_RUSTFLAGS:-}" \
    "$WASM_CARGO" build --release --target "$TARGET" --features "$features" "${build_std[@]}"

  local out_dir="$target_dir/$TARGET/release"
  local raw="$out_dir/$CRATE_ARTIFACT"
  [[ -s "$raw" ]] || die "cargo finished but $raw is missing or empty"
  local raw_size
  raw_size=$(stat -c %s "$raw")
  log "$name: cargo output $raw ($raw_size bytes)"

  local final="$raw" enable=(--enable-simd)
  [[ "$features" == relaxed ]] && enable+=(--enable-relaxed-simd)
  if [[ -n "$WASM_OPT" && ( "$features" != relaxed || "$WASM_OPT_RELAXED" == 1 ) ]]; then
    local opt="$out_dir/lstm_wasm.opt.wasm"
    # The features rustc's wasm32 target enables by default since 1.82 (LLVM 19), which the module may use.
    "$WASM_OPT" -O3 "${enable[@]}" --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
      --enable-mutable-globals --enable-multivalue --enable-reference-types --strip-producers "$raw" -o "$opt"
    final="$opt"
    log "$name: wasm-opt -O3 ($WASM_OPT): $raw_size -> $(stat -c %s "$opt") bytes"
  else
    log "$name: no wasm-opt that reads it (npm ci installs binaryen; apt-get install -y binaryen for SIMD128): shipping the un-optimized module"
  fi

  # Checks the module before anything is published: magic + version, that V8 compiles it (SIMD,
  # and relaxed SIMD for that build: node runs with the flag that enables it), that it imports
  # nothing (the loader instantiates it with an empty import object), and that it says which build
  # it is (lw_relaxed_simd). Then writes the base64 TypeScript module next to the loader.
  node --experimental-wasm-relaxed-simd - "$final" "$inline_ts" "$name" <<'NODE'
const fs = require('node:fs');
const crypto = require('node:crypto');
const [wasmPath, inlinePath, name] = process.argv.slice(2);
const bytes = fs.readFileSync(wasmPath);
const fail = (msg) => { console.error(`[build-wasm] error: ${wasmPath}: ${msg}`); process.exit(1); };
if (bytes.length < 8) fail(`${bytes.length} bytes, too short for a wasm module`);
const magic = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
if (!magic.every((b, i) => bytes[i] === b)) {
  fail(`starts with ${[...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}, expected 00 61 73 6d 01 00 00 00`);
}
let mod;
try { mod = new WebAssembly.Module(bytes); } catch (e) { fail(`does not compile: ${e.message}`); }
const imports = WebAssembly.Module.imports(mod);
if (imports.length > 0) {
  fail(`imports ${imports.map((i) => `${i.module}.${i.name} (${i.kind})`).join(', ')}; ` +
    'the module must import nothing (a Rust function that needs the host, e.g. std I/O or a panic hook, pulled these in)');
}
const exports = WebAssembly.Module.exports(mod);
const funcs = exports.filter((e) => e.kind === 'function').length;
if (!exports.some((e) => e.kind === 'memory')) fail('exports no memory');
const relaxed = new WebAssembly.Instance(mod, {}).exports.lw_relaxed_simd();
if (relaxed !== (name === 'relaxed' ? 1 : 0)) fail(`lw_relaxed_simd() is ${relaxed} in the ${name} build`);
const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
// Gzipped: a page downloads 61 KB instead of the 83 KB that base64 of the raw module gzips to
// (base64 hides the module's redundancy from the server's gzip). mtime 0 keeps it deterministic.
const zlib = require('node:zlib');
const gz = zlib.gzipSync(bytes, { level: 9 });
if (!zlib.gunzipSync(gz).equals(bytes)) fail('gzip does not round-trip');
const ts =
  `// Generated by scripts/build-wasm.sh from crate/ (the ${name} build): do not edit, do not commit.\n` +
  `// ${bytes.length} bytes (${gz.length} gzipped), sha256 ${sha256}\n` +
  `export const wasmGzipBase64: string =\n  '${gz.toString('base64')}';\n`;
const tmp = `${inlinePath}.tmp-${process.pid}`;
fs.writeFileSync(tmp, ts);
fs.renameSync(tmp, inlinePath);
console.log(`[build-wasm] ${name}: verified: ${bytes.length} bytes (${gz.length} gzipped), ${funcs} exported functions, no imports, sha256 ${sha256.slice(0, 16)}`);
NODE

  mkdir -p dist
  cp "$final" "$dist_wasm.tmp"
  mv "$dist_wasm.tmp" "$dist_wasm"
  log "$name: wrote $dist_wasm and $inline_ts"
}

target_root="${CARGO_TARGET_DIR:-target}"
build_variant simd128 "" "$target_root" dist/lstm_wasm.wasm ts/wasm/inline.generated.ts
build_variant relaxed relaxed "$target_root/relaxed" dist/lstm_wasm_relaxed.wasm ts/wasm/inline-relaxed.generated.ts

