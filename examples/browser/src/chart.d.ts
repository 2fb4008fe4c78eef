// Types of chart.js, for the tests that import its pure functions.
export function niceTicks(min: number, max: number, count?: number): { step: number; ticks: number[] };
export function tickLabel(v: number, step: number): string;
export function median(values: readonly number[]): number;
export function historyFromTrainer(
  trainer: { step: number; losses: (number | null)[]; val: { step: number; valLoss: number | null }[] } | null,
): { loss: [number, number][]; val: [number, number][] };
export class LossChart {
  constructor(canvas: HTMLCanvasElement | null);
  series: { loss: [number, number][]; val: [number, number][]; speed: [number, number][] };
  add(p: { step: number; smoothLoss: number; tokensPerSec: number; evaluated: boolean; valLoss: number | null }, options?: { draw?: boolean }): void;
  restore(history: { loss: [number, number][]; val: [number, number][] }): void;
  clear(): void;
  draw(): void;
}
