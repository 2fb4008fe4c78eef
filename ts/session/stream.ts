/**
 * Values that callbacks push (a worker's messages) read by a `for await` loop, in order and none
 * dropped; the loop waits while it is empty and ends when the stream ends (throwing the error it
 * ended with, once what was pushed before is read).
 */
export class Stream<T> {
  private readonly items: T[] = [];
  private ended = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;

  push(value: T): void {
    this.items.push(value);
    this.notify();
  }

  /** Ends the stream after what it holds; with an error, the loop throws it then. */
  end(error: Error | null = null): void {
    this.ended = true;
    this.failure ??= error;
    this.notify();
  }

  async *values(): AsyncGenerator<T, void, undefined> {
    for (;;) {
      if (this.items.length > 0) yield this.items.shift()!;
      else if (this.failure !== null) throw this.failure;
      else if (this.ended) return;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    this.wake?.();
    this.wake = null;
  }
}
