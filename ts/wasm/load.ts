/**
 * Finds the compute module's bytes and instantiates them.
 *
 * The crate is built twice (`scripts/build-wasm.sh`): SIMD128, which every engine with WebAssembly
 * SIMD runs, and relaxed SIMD (`f32x4.relaxed_madd` in the GEMM), which Chrome 114+, Firefox 145+
 * and Node 22+ run (Node 20 with `--experimental-wasm-relaxed-simd`). By default the module is the
 * relaxed build where the engine validates relaxed SIMD and the SIMD128 build elsewhere
 * (`init({ simd })` forces either). Both are inlined into the package, gzipped, as base64 (wasm/inlined.ts),
 * each behind a dynamic import of its own, so that a browser downloads only the build it runs. The
 * entries that run on the page or in Node's main thread register them here (`setInlinedWasm`);
 * workers are handed the compiled module by the thread that starts them, so the worker's bundle
 * carries no wasm. `init({ wasm })` can override the source, for example to fetch
 * `lstm-wasm/lstm_wasm.wasm` from a CDN with `instantiateStreaming`.
 *
 * The module imports nothing: it is instantiated with an empty import object, and a module that asks
 * for an import is a build bug, reported as such.
 */
import { WasmLoadError } from '../errors';

/**
 * Where to take the module from. A `string` is a URL (resolved against the page in a browser; in Node
 * a string that is not an absolute URL is a file path). `file:` URLs are read from disk in Node.
 */
export type WasmSource =
  | Uint8Array
  | ArrayBuffer
  | URL
  | string
  | WebAssembly.Module
  | Response
  | Promise<Response>;

const SIMD_MISSING =
  'lstm-wasm: this JavaScript engine lacks WebAssembly SIMD (needed: Node 16.4+/Chrome 91+/Firefox 89+/Safari 16.4+)';
const WASM_MISSING = 'lstm-wasm: WebAssembly is not available in this environment';

// The smallest module that needs final-spec SIMD128: one function `() -> v128` whose body is
// `i32.const 0; i8x16.splat; i8x16.popcnt`. popcnt (0xfd 0x62) got its opcode late in the proposal,
// so engines that shipped an earlier draft (Chrome < 91) reject it, as they should.
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic "\0asm", version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, //       type section: 1 type, func () -> (v128)
  0x03, 0x02, 0x01, 0x00, //                         function section: 1 function of type 0
  0x0a, 0x0a, 0x01, 0x08, 0x00, //                   code section: 1 body of 8 bytes, no locals
  0x41, 0x00, //                                     i32.const 0
  0xfd, 0x0f, //                                     i8x16.splat
  0xfd, 0x62, //                                     i8x16.popcnt
  0x0b, //                                           end
]);

// The smallest module that needs relaxed SIMD: `() -> v128` whose body is three
// `i32.const 0; i8x16.splat` and `f32x4.relaxed_madd` (0xfd 0x105, LEB128 0x85 0x02).
const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic "\0asm", version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, //       type section: 1 type, func () -> (v128)
  0x03, 0x02, 0x01, 0x00, //                         function section: 1 function of type 0
  0x0a, 0x13, 0x01, 0x11, 0x00, //                   code section: 1 body of 17 bytes, no locals
  0x41, 0x00, 0xfd, 0x0f, //                         i32.const 0; i8x16.splat
  0x41, 0x00, 0xfd, 0x0f,
  0x41, 0x00, 0xfd, 0x0f,
  0xfd, 0x85, 0x02, //                               f32x4.relaxed_madd
  0x0b, //                                           end
]);

/** Which build of the crate runs: with relaxed SIMD, or SIMD128 only. */
export type SimdBuild = 'relaxed' | 'simd128';

/**
 * True when this engine validates relaxed-SIMD instructions, so `init()` picks the relaxed build:
 * Chrome 114+, Firefox 145+, Node 22+; Node 20 only when started with
 * `--experimental-wasm-relaxed-simd` (the library never sets V8 flags itself).
 */
export function relaxedSimdSupported(): boolean {
  if (!wasmSimdSupported()) return false;
  try {
    return WebAssembly.validate(RELAXED_SIMD_PROBE);
  } catch {
    return false;
  }
}

const RELAXED_MISSING =
  'this JavaScript engine does not validate relaxed SIMD (Chrome 114+, Firefox 145+ and Node 22+ do; ' +
  'Node 20 when started with --experimental-wasm-relaxed-simd); use simd: "auto" (the SIMD128 build here) or "simd128"';

/** True when this engine has WebAssembly and validates final-spec SIMD128 instructions. */
export function wasmSimdSupported(): boolean {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.validate !== 'function') return false;
  try {
    return WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

/** A compiled module, its instance and the build it is (from its `lw_relaxed_simd` export). */
export interface LoadedWasm {
  module: WebAssembly.Module;
  instance: WebAssembly.Instance;
  simd: SimdBuild;
}

/** The bytes of an inlined build (wasm/inlined.ts), where the entry registered them. */
type InlinedWasm = (build: SimdBuild) => Promise<Uint8Array>;
let inlined: InlinedWasm | null = null;

/** Registers the inlined builds: called by the package's main entries, never by the worker's. */
export function setInlinedWasm(provider: InlinedWasm): void {
  inlined = provider;
}

/** The build `simd` names, `'auto'` resolved for this engine. */
export function chooseBuild(simd: SimdBuild | 'auto'): SimdBuild {
  return simd === 'auto' ? (relaxedSimdSupported() ? 'relaxed' : 'simd128') : simd;
}

const compiledInlined = new Map<SimdBuild, Promise<WebAssembly.Module>>();

/**
 * The inlined build compiled (once per build, kept): for `init()`, and for workers started before
 * this thread's own `init()` (they are handed the module, not the bytes).
 */
export function compileInlined(build: SimdBuild): Promise<WebAssembly.Module> {
  let module = compiledInlined.get(build);
  if (module === undefined) {
    if (inlined === null) {
      throw new WasmLoadError(
        'lstm-wasm: no wasm module to load here: a worker of lstm-wasm is handed the compiled module by the thread ' +
          'that starts it (start sessions with createTrainingSession), or pass init({ wasm }) a module, its bytes or its URL',
      );
    }
    const provider = inlined;
    module = provider(build).then((bytes) => compileBytes(bytes, `the inlined ${build} module`));
    module.catch(() => compiledInlined.delete(build));
    compiledInlined.set(build, module);
  }
  return module;
}

/**
 * Compiles and instantiates the compute module from `source` (default: the inlined build that
 * `simd` names, `'auto'` the relaxed one where the engine validates relaxed SIMD).
 * Throws a `WasmLoadError` (message starting with `lstm-wasm:`) when the engine lacks WebAssembly or
 * SIMD (or relaxed SIMD, when asked for), when `source` is of an unsupported kind, when it cannot be
 * fetched, read or compiled, or when it is not the build `simd` asks for.
 */
export async function instantiateWasm(source?: WasmSource, simd: SimdBuild | 'auto' = 'auto'): Promise<LoadedWasm> {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.instantiate !== 'function') {
    throw new WasmLoadError(WASM_MISSING);
  }
  if (!wasmSimdSupported()) throw new WasmLoadError(SIMD_MISSING);
  if (simd === 'relaxed' && !relaxedSimdSupported()) throw new WasmLoadError(`lstm-wasm: init: simd: 'relaxed' asked for, but ${RELAXED_MISSING}`);

  const module = source === undefined ? await compileInlined(chooseBuild(simd)) : await compileSource(source);
  const imports = WebAssembly.Module.imports(module);
  if (imports.length > 0) {
    const names = imports.map((i) => `${i.module}.${i.name} (${i.kind})`).join(', ');
    throw new WasmLoadError(
      `lstm-wasm: the wasm module from ${describeSource(source)} imports ${names}; ` +
        'the lstm-wasm module imports nothing, so this is a build bug or a different module',
    );
  }
  const instance = await WebAssembly.instantiate(module, {});
  const flag = (instance.exports as { lw_relaxed_simd?: () => number }).lw_relaxed_simd;
  const built: SimdBuild = typeof flag === 'function' && flag() === 1 ? 'relaxed' : 'simd128';
  if (simd !== 'auto' && built !== simd) {
    throw new WasmLoadError(`lstm-wasm: init: simd: '${simd}' asked for, but ${describeSource(source)} is the ${built} build`);
  }
  return { module, instance, simd: built };
}

async function compileSource(source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof Uint8Array) return compileBytes(source, describeSource(source));
  if (source instanceof ArrayBuffer) return compileBytes(new Uint8Array(source), describeSource(source));
  if (typeof source === 'string' || source instanceof URL) return compileFromLocation(source);
  if (isPromiseLike(source)) {
    let response: unknown;
    try {
      response = await source;
    } catch (e) {
      throw new WasmLoadError(`lstm-wasm: the Promise<Response> passed as the wasm source rejected: ${errorMessage(e)}`);
    }
    if (!isResponse(response)) {
      throw new WasmLoadError(`lstm-wasm: the Promise passed as the wasm source resolved to ${describeValue(response)}, expected a Response`);
    }
    return compileResponse(response);
  }
  if (isResponse(source)) return compileResponse(source);
  throw new WasmLoadError(
    `lstm-wasm: unsupported wasm source ${describeValue(source)}; expected a Uint8Array, ArrayBuffer, ` +
      'URL, URL string, WebAssembly.Module, Response or Promise<Response>',
  );
}

async function compileBytes(bytes: Uint8Array, what: string): Promise<WebAssembly.Module> {
  if (bytes.length < 8 || bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new WasmLoadError(
      `lstm-wasm: ${what} is not a wasm module (${bytes.length} bytes starting with [${head}], expected 00 61 73 6d)`,
    );
  }
  // A view over a SharedArrayBuffer is not a BufferSource: compile a private copy of it.
  const source = bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : bytes.slice();
  try {
    return await WebAssembly.compile(source);
  } catch (e) {
    throw compileError(what, e);
  }
}

async function compileResponse(response: Response): Promise<WebAssembly.Module> {
  const what = response.url ? `the response from ${response.url}` : 'the Response passed as the wasm source';
  if (!response.ok) {
    throw new WasmLoadError(`lstm-wasm: ${what} has HTTP status ${response.status} ${response.statusText}`.trimEnd());
  }
  // compileStreaming insists on the application/wasm content type; anything else goes through bytes.
  const contentType = response.headers.get('content-type') ?? '';
  if (typeof WebAssembly.compileStreaming === 'function' && contentType.startsWith('application/wasm')) {
    try {
      return await WebAssembly.compileStreaming(response);
    } catch (e) {
      throw compileError(what, e);
    }
  }
  return compileBytes(new Uint8Array(await response.arrayBuffer()), what);
}

async function compileFromLocation(location: string | URL): Promise<WebAssembly.Module> {
  const url = resolveLocation(location);
  if (url === undefined) {
    // Node only: a string that is not a URL is a path on disk.
    const path = location as string;
    return compileBytes(await readNodeFile(path, path), `the file ${path}`);
  }
  if (url.protocol === 'file:' && isNode()) {
    return compileBytes(await readNodeFile(url, url.href), `the file ${url.href}`);
  }
  if (typeof fetch !== 'function') {
    throw new WasmLoadError(`lstm-wasm: cannot load the wasm module from ${url.href}: fetch is not available here`);
  }
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new WasmLoadError(`lstm-wasm: fetching the wasm module from ${url.href} failed: ${errorMessage(e)}`);
  }
  return compileResponse(response);
}

/** An absolute URL, a URL relative to the page, or undefined for a Node file path. */
function resolveLocation(location: string | URL): URL | undefined {
  if (location instanceof URL) return location;
  try {
    const url = new URL(location);
    // In Node, "C:\\models\\x.wasm" parses as a URL with scheme "c:"; it is a Windows path.
    if (!(isNode() && /^[a-z]:$/i.test(url.protocol))) return url;
  } catch {
    // not absolute
  }
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  if (base !== undefined) {
    try {
      return new URL(location, base);
    } catch {
      // fall through to the error below
    }
  }
  if (isNode()) return undefined;
  throw new WasmLoadError(`lstm-wasm: the wasm source string ${JSON.stringify(location)} is not a valid URL`);
}

interface NodeFs {
  readFile(path: string | URL): Promise<Uint8Array>;
}

async function readNodeFile(path: string | URL, what: string): Promise<Uint8Array> {
  // The specifier is assembled at run time so that bundlers for the browser neither resolve nor
  // bundle node:fs; this branch only runs under Node.
  const specifier = ['node', 'fs/promises'].join(':');
  let fs: NodeFs;
  try {
    fs = (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as NodeFs;
  } catch (e) {
    throw new WasmLoadError(`lstm-wasm: cannot read ${what}: node:fs/promises is not available (${errorMessage(e)})`);
  }
  try {
    return await fs.readFile(path);
  } catch (e) {
    throw new WasmLoadError(`lstm-wasm: cannot read the wasm module from ${what}: ${errorMessage(e)}`);
  }
}

function isNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  return typeof proc?.versions?.node === 'string';
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

// Duck-typed as well as instanceof, so that a Response from another realm (or a fetch polyfill) works.
function isResponse(value: unknown): value is Response {
  if (typeof Response === 'function' && value instanceof Response) return true;
  const v = value as Partial<Response> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.arrayBuffer === 'function' &&
    typeof v.ok === 'boolean' &&
    typeof v.headers?.get === 'function'
  );
}

function describeSource(source: WasmSource | undefined): string {
  if (source === undefined) return 'the inlined module';
  if (source instanceof Uint8Array) return `the Uint8Array of ${source.length} bytes`;
  if (source instanceof ArrayBuffer) return `the ArrayBuffer of ${source.byteLength} bytes`;
  if (source instanceof URL) return source.href;
  if (typeof source === 'string') return source;
  if (source instanceof WebAssembly.Module) return 'the WebAssembly.Module passed to init';
  return 'the Response passed to init';
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: string } }).constructor?.name;
    return name ? `an object of type ${name}` : 'an object';
  }
  if (typeof value === 'function') return 'a function';
  return `${typeof value} ${String(value)}`;
}

function compileError(what: string, e: unknown): WasmLoadError {
  // The relaxed build fails to compile exactly where relaxed SIMD is missing: say so.
  const hint = relaxedSimdSupported() ? '' : ' (if it is lstm_wasm_relaxed.wasm, the relaxed-SIMD build: this engine does not run relaxed SIMD; load lstm_wasm.wasm)';
  return new WasmLoadError(`lstm-wasm: ${what} does not compile as WebAssembly: ${errorMessage(e)}${hint}`);
}

function errorMessage(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  // fetch in Node reports only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND...) is in `cause`.
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error ? `${e.message} (${cause.message})` : e.message;
}

// Standard base64 (RFC 4648 section 4, padding optional); whitespace is not expected in the inlined string.
const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Decodes standard base64 without Buffer or atob, so it runs the same in every engine. */
export function decodeBase64(text: string): Uint8Array {
  const sextet = new Int8Array(128).fill(-1);
  for (let i = 0; i < BASE64_ALPHABET.length; i++) sextet[BASE64_ALPHABET.charCodeAt(i)] = i;

  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x3d /* '=' */) end--;
  if (text.length - end > 2 || end % 4 === 1) {
    throw new WasmLoadError(`lstm-wasm: malformed base64 (${text.length} characters, ${text.length - end} padding)`);
  }
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let acc = 0; // bits accumulated, most significant first
  let bits = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? sextet[c] : -1;
    if (v < 0) throw new WasmLoadError(`lstm-wasm: malformed base64: character ${JSON.stringify(text[i])} at ${i}`);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}
