/** Training progress on the terminal: a live bar on a TTY, plain log lines otherwise. */
import type { TrainProgress } from '../training/trainer';

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export function formatRate(perSec: number): string {
  return perSec >= 1000 ? `${(perSec / 1000).toFixed(1)}k` : perSec.toFixed(0);
}

/** One log line: what non-TTY output prints at each validation, and what a TTY keeps above the bar. */
export function logLine(p: TrainProgress): string {
  const parts = [
    `step ${p.step}`,
    `epoch ${p.epoch.toFixed(2)}`,
    `loss ${p.smoothLoss.toFixed(3)}`,
    p.valLoss !== null ? `val ${p.valLoss.toFixed(3)}` : null,
    `ppl ${p.perplexity.toFixed(2)}`,
    `${formatRate(p.tokensPerSec)} tok/s`,
    `${p.msPerStep.toFixed(0)} ms/step`,
    `elapsed ${formatDuration(p.elapsedMs)}`,
    p.etaMs !== null ? `ETA ${formatDuration(p.etaMs)}` : null,
  ];
  return parts.filter((s) => s !== null).join('  ');
}

export class ProgressView {
  private readonly out: NodeJS.WriteStream;
  readonly isTTY: boolean;
  private barShown = false;
  private last: TrainProgress | null = null;

  constructor(out: NodeJS.WriteStream) {
    this.out = out;
    this.isTTY = out.isTTY === true && process.env.TERM !== 'dumb';
  }

  /** Updates the live bar (TTY only; at most ~10 redraws a second). */
  update(p: TrainProgress): void {
    this.last = p;
    if (!this.isTTY) return;
    this.drawBar();
  }

  /** Prints lines above the bar (or plainly when there is no bar). */
  print(text: string): void {
    if (this.isTTY && this.barShown) this.out.write('\r\x1b[2K');
    this.out.write(text.endsWith('\n') ? text : text + '\n');
    this.barShown = false;
    if (this.isTTY && this.last !== null) this.drawBar();
  }

  /** Removes the bar (before the summary). */
  done(): void {
    if (this.isTTY && this.barShown) this.out.write('\r\x1b[2K');
    this.barShown = false;
    this.last = null;
  }

  private drawBar(): void {
    const p = this.last!;
    const cols = Math.max(40, this.out.columns ?? 100);
    const stats = [
      `step ${p.step}`,
      `loss ${p.smoothLoss.toFixed(3)}`,
      p.valLoss !== null ? `val ${p.valLoss.toFixed(3)}` : null,
      `${formatRate(p.tokensPerSec)} tok/s`,
      p.etaMs !== null ? `ETA ${formatDuration(p.etaMs)}` : `${formatDuration(p.elapsedMs)}`,
    ].filter((s) => s !== null).join(' | ');
    let line: string;
    if (p.fraction !== null) {
      const pct = `${String(Math.floor(p.fraction * 100)).padStart(3)}%`;
      const barWidth = Math.max(10, Math.min(30, cols - stats.length - pct.length - 6));
      const filled = Math.round(p.fraction * barWidth);
      line = `${pct} [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${stats}`;
    } else {
      line = stats;
    }
    this.out.write(`\r\x1b[2K${line.slice(0, cols - 1)}`);
    this.barShown = true;
  }
}

/** A step and the time it was reached: when something (a log line, a sample, a save) was last done. */
export interface Mark {
  step: number;
  ms: number;
}

export function mark(step: number): Mark {
  return { step, ms: performance.now() };
}

/** True when `every` steps or milliseconds have passed since `last` (a zero part is off). */
export function due(every: { steps: number; ms: number }, last: Mark, stepNow: number): boolean {
  return (every.steps > 0 && stepNow - last.step >= every.steps) || (every.ms > 0 && performance.now() - last.ms >= every.ms);
}
