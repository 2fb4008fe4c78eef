/**
 * Yielding to the event loop between steps of long work (training, generation), so messages,
 * signals and paints get through. A macrotask, not a microtask (those run before any event).
 *
 * Not `setTimeout(0)`: nested timers are clamped to 4 ms in browsers (and 1 ms in Node), a toll on
 * every training step. `setImmediate` in Node, a MessageChannel message elsewhere, cost nothing.
 */
type Schedule = (run: () => void) => void;

const schedule: Schedule = (() => {
  const g = globalThis as { setImmediate?: (f: () => void) => unknown; MessageChannel?: typeof MessageChannel };
  if (typeof g.setImmediate === 'function') return (run) => void g.setImmediate!(run);
  if (typeof g.MessageChannel === 'function') {
    const queue: (() => void)[] = [];
    const channel = new g.MessageChannel();
    channel.port1.onmessage = () => queue.shift()?.();
    return (run) => {
      queue.push(run);
      channel.port2.postMessage(null);
    };
  }
  return (run) => void setTimeout(run, 0);
})();

/** Resolves after the event loop has had a turn. */
export function macrotask(): Promise<void> {
  return new Promise((resolve) => schedule(resolve));
}
