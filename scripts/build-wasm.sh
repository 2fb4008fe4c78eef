#!/usr/bin/env bash
# Builds the Rust crate (crate/, Cargo.toml at the repo root) for wasm32 + SIMD128 and publishes it:
#   dist/lstm_wasm.wasm           the module, for users who want to fetch it themselves
#   ts/wasm/inline.generated.ts   the same bytes as base64, inlined into the ESM and CJS builds
#
#   bash scripts/build-wasm.sh                   build
#   bash scripts/build-wasm.sh --check-toolchain exit 0 if a rustc with the wasm32 std is found
#
# Toolchain: the first rustc whose sysroot holds lib/rustlib/wasm32-unknown-unknown, from $RUSTC,
# then `rustc` on PATH (rustup's, once `rustup target add wasm32-unknown-unknown` worked), then
# Debian's /usr/bin/rustc (apt packages rustc + libstd-rust-dev-wasm32 + lld), driven by the cargo
# that sits beside it: a cargo and a rustc of different releases do not always agree on flags.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly TARGET=wasm32-unknown-unknown
readonly CRATE_ARTIFACT=lstm_wasm_core.wasm
readonly DIST_WASM=dist/lstm_wasm.wasm
readonly INLINE_TS=ts/wasm/inline.generated.ts

log() { printf '[build-wasm] %s\n' "$*"; }
die() { printf '[build-wasm] error: %s\n' "$*" >&2; exit 1; }

# Sets WASM_RUSTC and WASM_CARGO, or returns 1.
find_toolchain() {
  local candidates=() rc sysroot cargo
  [[ -n "${RUSTC:-}" ]] && candidates+=("$(command -v "$RUSTC" || true)")
  candidates+=("$(command -v rustc || true)" /usr/bin/rustc)
  for rc in "${candidates[@]}"; do
    [[ -n "$rc" && -x "$rc" ]] || continue
    sysroot="$("$rc" --print sysroot 2>/dev/null)" || continue
    [[ -d "$sysroot/lib/rustlib/$TARGET" ]] || continue
    cargo="$(dirname "$rc")/cargo"
    [[ -x "$cargo" ]] || continue
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

find_toolchain || die "no rustc with the $TARGET standard library was found.
  With rustup:        rustup target add $TARGET
  On Debian/Ubuntu:   apt-get install -y rustc cargo libstd-rust-dev-wasm32 lld
  (or run: bash scripts/ensure.sh)"

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

# -disable-lsr: LLVM's loop strength reduction turns the kernels' `ptr + constant` loads into
# separate i32 adds (which V8 then emits as one lea per load) instead of folding them into the
# load's offset immediate. Without it the 4x8 sgemm kernel runs 12% faster (512^3: 28.0 -> 31.5
# GFLOP/s) and the LSTM kernels 5-15% faster, measured interleaved in one process; the GEMV is
# unchanged.
log "cargo build --release --target $TARGET (+simd128, -disable-lsr)"
# --remap-path-prefix keeps this machine's paths out of the shipped binary (panic locations).
RUSTC="$WASM_RUSTC" RUSTFLAGS="-C target-feature=+simd128 -C llvm-args=-disable-lsr --remap-path-prefix=$PWD=. ${LSTM_WASM_RUSTFLAGS:-}" \
  "$WASM_CARGO" build --release --target "$TARGET"

out_dir="${CARGO_TARGET_DIR:-target}/$TARGET/release"
raw="$out_dir/$CRATE_ARTIFACT"
[[ -s "$raw" ]] || die "cargo finished but $raw is missing or empty"
raw_size=$(stat -c %s "$raw")
log "cargo output: $raw ($raw_size bytes)"

final="$raw"
if command -v wasm-opt >/dev/null 2>&1; then
  opt="$out_dir/lstm_wasm.opt.wasm"
  wasm-opt -O3 --enable-simd --strip-producers "$raw" -o "$opt"
  final="$opt"
  log "wasm-opt -O3: $raw_size -> $(stat -c %s "$opt") bytes"
else
  log "wasm-opt not found (apt-get install -y binaryen): shipping the un-optimized module"
fi

# Checks the module before anything is published: magic + version, that V8 compiles it (SIMD included),
# and that it imports nothing (the loader instantiates it with an empty import object).
# Then writes the base64 TypeScript module next to the loader.
node - "$final" "$INLINE_TS" <<'NODE'
const fs = require('node:fs');
const crypto = require('node:crypto');
const [wasmPath, inlinePath] = process.argv.slice(2);
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
const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
const ts =
  `// Generated by scripts/build-wasm.sh from crate/: do not edit, do not commit.\n` +
  `// ${bytes.length} bytes, sha256 ${sha256}\n` +
  `export const wasmBase64: string =\n  '${bytes.toString('base64')}';\n`;
const tmp = `${inlinePath}.tmp-${process.pid}`;
fs.writeFileSync(tmp, ts);
fs.renameSync(tmp, inlinePath);
console.log(`[build-wasm] verified: ${bytes.length} bytes, ${funcs} exported functions, no imports, sha256 ${sha256.slice(0, 16)}`);
NODE

mkdir -p dist
cp "$final" "$DIST_WASM.tmp"
mv "$DIST_WASM.tmp" "$DIST_WASM"
log "wrote $DIST_WASM and $INLINE_TS"
