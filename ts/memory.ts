/**
 * Who owns memory, and how much is live. Tensor data lives in backend (WASM) memory that
 * JavaScript's garbage collector cannot see, so every tensor has an owner:
 *
 * - Users see three tools: `tidy(fn)` (a scope: what `fn` creates is disposed when it returns,
 *   except what it returns), `keep(t)` (take a tensor out of every scope) and `t.dispose()`.
 * - Inside the library: `untracked(fn)` creates tensors no scope adopts (parameters, gradients,
 *   optimizer state, buffers a graph node saves: their owner frees them); `runOp(name, fn)` runs
 *   an op as one unit (an allocation error names it; if it throws, what it created is freed);
 *   `Tensor.ownTensor(t)` ties one tensor's life to another's; a `GradNode` frees what it saved
 *   when its last output is disposed (ts/autograd.ts).
 * - `memory()` reports the live tensors and bytes; `setMemoryLimit` caps what may be held.
 *
 * The Tensor class reports each tensor here as it is created (`adopt`) and disposed (`release`).
 */
import type { Tensor } from './tensor';
import { backend } from './backend/backend';
import { ValueError } from './errors';
import { MAX_MEMORY_BYTES } from './backend/limits';

let liveTensors = 0;
let liveBytes = 0;

/** Scopes from `tidy`: the innermost one adopts every new tensor. */
const scopes: Set<Tensor>[] = [];
/** While > 0, new tensors are not adopted by any scope (parameters, grads, optimizer state). */
let untrackedDepth = 0;

/** Called by the Tensor constructor once its data is allocated. */
export function adopt(t: Tensor, bytes: number): void {
  liveTensors++;
  liveBytes += bytes;
  if (untrackedDepth === 0 && scopes.length > 0) scopes[scopes.length - 1].add(t);
  if (opDepth > 0) createdInOps.push(t);
  if (creationSites !== null) creationSites.set(t, new Error().stack ?? '');
  if (++createdInWindow === WINDOW) checkGrowth();
}

/** Called by `Tensor.dispose` once its data is freed. */
export function release(t: Tensor, bytes: number): void {
  liveTensors--;
  liveBytes -= bytes;
  for (const s of scopes) s.delete(t);
  creationSites?.delete(t);
}

/** Hands a tensor made untracked (inside backward, say) to the innermost scope, as if made here. */
export function adoptIntoScope(t: Tensor): void {
  if (scopes.length > 0) scopes[scopes.length - 1].add(t);
}

// ----- dicts a loader hands over ------------------------------------------------------------------

const handedOver = new WeakSet<object>();

/**
 * Marks a dict of tensors a loader made for its caller to pass on (`loadSafetensors`): the
 * `loadStateDict` that copies one of its tensors into a module frees it, so
 * `model.loadStateDict(loadSafetensors(bytes))` leaves nothing behind.
 */
export function markHandedOver(dict: object): void {
  handedOver.add(dict);
}

export function isHandedOver(dict: object): boolean {
  return handedOver.has(dict);
}

// ----- leak hints ------------------------------------------------------------------------------

/**
 * What a leak looks like, and so which idiom fixes it:
 * - 'training': backward() calls outside tidy, the live count growing at each: a step per tidy.
 * - 'graph': ops recording autograd graphs, no backward: evaluation or generation with grad on,
 *   whose graphs hold their tensors: noGrad(() => tidy(...)).
 * - 'untracked': ops outside any scope with grad off (or on untracked inputs): tidy(...).
 * - 'loop-in-tidy': the count grows inside one tidy that spans a loop: a tidy per iteration.
 */
type LeakKind = 'training' | 'graph' | 'untracked' | 'loop-in-tidy';

const LEAK_ADVICE: Record<LeakKind, string> = {
  training:
    'this looks like a training loop outside tidy(): run each step inside tidy(() => { ...; loss.backward(); optimizer.step(); }) ' +
    '(it frees what the step made) or dispose() what you no longer need.',
  graph:
    'this looks like evaluation or generation with gradients on: every forward records a graph that holds its tensors. ' +
    'Wrap each call in noGrad(() => tidy(() => ...)): noGrad stops the graphs, tidy frees the rest.',
  untracked:
    'tensors made outside tidy() are never freed by themselves: wrap each call or iteration in tidy(() => ...), ' +
    'keep() what must outlive it, or dispose() what you no longer need.',
  'loop-in-tidy':
    'they are inside one tidy(), which frees only when it returns: if it wraps a whole loop, move it inside the loop ' +
    '(a tidy per step or batch), and keep() what must outlive an iteration.',
};

const warnedLeaks = new Set<LeakKind>();

function warnLeak(kind: LeakKind, seen: string): void {
  if (warnedLeaks.has(kind)) return;
  warnedLeaks.add(kind);
  console.warn(
    `lstm-wasm: ${liveTensors} tensors are live and ${seen}; ${LEAK_ADVICE[kind]} ` +
      'setDebugMemory(true) and memoryReport() show where live tensors were created.',
  );
}

/** Backward calls outside any scope in a row that each left more live tensors than the last. */
let growingBackwards = 0;
let liveAtLastBackward = -1;
/** The training hint: at least GROWTH more live tensors at each of STREAK backward calls in a row, outside tidy. */
const GROWTH = 1;
const STREAK = 5;

/**
 * The other hints watch allocations: every WINDOW tensors created, a check of how many are still
 * live. When at least half of each of GROWING_WINDOWS windows in a row stayed live, tensors are
 * piling up; what was happening (graphs recorded, backward calls, the scope) says which idiom fixes it.
 */
const WINDOW = 2048;
const GROWING_WINDOWS = 3;
let createdInWindow = 0;
let liveAtWindow = 0;
let growingWindows = 0;
let graphsInWindow = 0;
let backwardsInWindow = 0;

/**
 * Called by `backward()`. When the live-tensor count keeps growing from one backward to the next
 * outside any `tidy`, the usual cause is a training loop that never frees its intermediates.
 */
export function noteBackward(): void {
  backwardsInWindow++;
  if (scopes.length > 0) {
    liveAtLastBackward = -1;
    growingBackwards = 0;
    return;
  }
  growingBackwards = liveAtLastBackward >= 0 && liveTensors >= liveAtLastBackward + GROWTH ? growingBackwards + 1 : 0;
  liveAtLastBackward = liveTensors;
  if (growingBackwards >= STREAK) warnLeak('training', `the count has grown at every one of the last ${STREAK} backward() calls made outside tidy()`);
}

/** Called by autograd for each op it records. */
export function noteGraphNode(): void {
  graphsInWindow++;
}

/** Called by `adopt` every WINDOW tensors created. */
function checkGrowth(): void {
  const grew = liveTensors - liveAtWindow >= WINDOW / 2;
  liveAtWindow = liveTensors;
  growingWindows = grew ? growingWindows + 1 : 0;
  const [graphs, backwards] = [graphsInWindow, backwardsInWindow];
  createdInWindow = graphsInWindow = backwardsInWindow = 0;
  if (growingWindows < GROWING_WINDOWS) return;
  growingWindows = 0;
  const seen = `more than half of the last ${GROWING_WINDOWS * WINDOW} tensors created are still live`;
  if (scopes.length > 0) warnLeak('loop-in-tidy', seen);
  else if (backwards > 0) warnLeak('training', seen);
  else if (graphs > 0) warnLeak('graph', seen);
  else warnLeak('untracked', seen);
}

// ----- debug mode: where live tensors were made ----------------------------------------------------

let creationSites: Map<Tensor, string> | null = null;

/**
 * Records the stack where each tensor is created from now on (slow: for finding leaks), or stops
 * recording. `memoryReport()` then groups the live tensors by where they were made.
 */
export function setDebugMemory(enabled: boolean): void {
  if (typeof enabled !== 'boolean') throw new ValueError(`setDebugMemory: enabled must be a boolean, got ${typeof enabled}`);
  creationSites = enabled ? creationSites ?? new Map() : null;
}

export interface LiveTensorGroup {
  /** The first stack frame outside lstm-wasm that created these tensors (or the top frame). */
  site: string;
  count: number;
  bytes: number;
  /** Up to three of their shapes. */
  shapes: number[][];
}

/**
 * Live tensors created since `setDebugMemory(true)`, grouped by the line of your code that made
 * them, most first. Empty when debug mode is off.
 */
export function memoryReport(): LiveTensorGroup[] {
  if (creationSites === null) return [];
  const groups = new Map<string, LiveTensorGroup>();
  for (const [t, stack] of creationSites) {
    const site = userFrame(stack);
    let g = groups.get(site);
    if (g === undefined) groups.set(site, (g = { site, count: 0, bytes: 0, shapes: [] }));
    g.count++;
    g.bytes += t.size * 4;
    if (g.shapes.length < 3) g.shapes.push(t.shape.slice());
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || b.bytes - a.bytes);
}

/** The first frame of `stack` that is not lstm-wasm's own code (its bundle or sources) or Node's. */
function userFrame(stack: string): string {
  const frames = stack.split('\n').slice(1).map((l) => l.trim());
  const own = /lstm-wasm[\\/](dist|ts)[\\/]|[\\/]dist[\\/]index\.(c?js)|node:internal|[\\/]ts[\\/](memory|tensor|creation|autograd|ops[\\/])/;
  return frames.find((f) => f.startsWith('at ') && !own.test(f)) ?? frames[0] ?? '(unknown)';
}

/** The op running now, named in allocation errors; null outside ops. */
let currentOp: string | null = null;
/**
 * Every tensor created while an op runs, so that an op that throws half-way (out of memory in its
 * third allocation, say) frees the first two instead of leaking them. Each `runOp` frame owns the
 * entries from its mark to the end.
 */
const createdInOps: Tensor[] = [];
let opDepth = 0;

/** The op allocating now, as a message prefix (`matmul: `); `tensor: ` outside ops. */
export function allocationSite(): string {
  return `${currentOp ?? 'tensor'}: `;
}

/**
 * Runs op `name` as one unit: allocation errors inside it name it, and if it throws, every tensor
 * it created is disposed (tracked or not, owned by another or not) before the error propagates.
 * On success nothing changes: its tensors belong to whoever they were handed to.
 */
export function runOp<T>(name: string, fn: () => T): T {
  const outerOp = currentOp;
  const mark = createdInOps.length;
  currentOp = name;
  opDepth++;
  try {
    return fn();
  } catch (e) {
    for (let i = createdInOps.length - 1; i >= mark; i--) createdInOps[i].dispose();
    createdInOps.length = mark;
    throw e;
  } finally {
    opDepth--;
    currentOp = outerOp;
    // A nested op's tensors stay listed until the outermost op ends: if that one fails, they go too.
    if (opDepth === 0) createdInOps.length = 0;
  }
}

/** Runs `fn` with tensor tracking off: what it creates is owned by the caller, not by a scope. */
export function untracked<T>(fn: () => T): T {
  untrackedDepth++;
  try {
    return fn();
  } finally {
    untrackedDepth--;
  }
}

/**
 * Runs `fn` in a scope: every tensor created inside is disposed when it returns, except the ones
 * it returns (a tensor, or tensors inside a returned array or plain object) and the ones `keep()`s.
 * Returned tensors move to the enclosing scope, if any.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  const kept = new Set<Tensor>();
  collectTensors(result, scope, kept);
  for (const t of scope) {
    if (!kept.has(t)) t.dispose();
  }
  if (scopes.length > 0) {
    const parent = scopes[scopes.length - 1];
    for (const t of kept) if (scope.has(t)) parent.add(t);
  }
  return result;
}

/** Removes `t` from every scope, so no `tidy` disposes it. Returns `t`. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

/** The tensors of `scope` found in `value` (itself, or inside arrays and plain objects, 4 deep). */
function collectTensors(value: unknown, scope: Set<Tensor>, out: Set<Tensor>, depth = 0): void {
  if (depth > 4 || value === null || typeof value !== 'object') return;
  if (scope.has(value as Tensor)) {
    out.add(value as Tensor);
  } else if (Array.isArray(value)) {
    for (const v of value) collectTensors(v, scope, out, depth + 1);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, scope, out, depth + 1);
  }
}

export interface MemoryInfo {
  /** Tensors allocated and not yet disposed. */
  liveTensors: number;
  /** Bytes held by those tensors. */
  tensorBytes: number;
  /** Size of the backend heap (WASM linear memory), which only grows. */
  heapBytes: number;
  /**
   * Bytes the backend holds in live blocks, what `setMemoryLimit` caps: tensors (rounded to
   * blocks) plus, in the wasm backend, the kernels' kept scratch (4.1 MiB and up).
   */
  usedBytes: number;
  /** The cap set by `setMemoryLimit`, or null for none (then 4 GiB of WASM memory is the limit). */
  memoryLimit: number | null;
}

export function memory(): MemoryInfo {
  const b = backend();
  return { liveTensors, tensorBytes: liveBytes, heapBytes: b.heapBytes(), usedBytes: b.usedBytes(), memoryLimit: b.memoryLimit() };
}

/**
 * Caps the memory lstm-wasm may hold at once, in bytes (`null`: no cap beyond WebAssembly's 4 GiB):
 * tensors, and in the wasm backend also the kernels' scratch. Past it, allocations and kernels
 * throw `OutOfMemoryError` before computing anything, and the library keeps working. Useful in a
 * page that must stay small; memory already live is not touched (the heap never shrinks).
 */
export function setMemoryLimit(bytes: number | null): void {
  if (bytes !== null && !(Number.isInteger(bytes) && bytes > 0 && bytes <= MAX_MEMORY_BYTES)) {
    throw new ValueError(`setMemoryLimit: bytes must be a positive integer up to ${MAX_MEMORY_BYTES} (4 GiB) or null, got ${bytes}`);
  }
  backend().setMemoryLimit(bytes);
}
