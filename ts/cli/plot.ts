/** ASCII line plots for the terminal (the loss curve at the end of training). */

export interface Series {
  /** (x, y) points, x ascending. */
  points: [number, number][];
  /** The character drawn for this series. */
  mark: string;
  label: string;
}

export interface PlotOptions {
  width?: number;
  height?: number;
  xLabel?: string;
}

/**
 * Draws the series on a shared grid (y axis on the left with 3 significant digits, x range below).
 * Each column shows the mean of the points that fall in it, so a long noisy curve reads as its trend.
 */
export function asciiPlot(series: Series[], options: PlotOptions = {}): string {
  const width = Math.max(10, options.width ?? 60);
  const height = Math.max(3, options.height ?? 12);
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (all.length === 0) return '(nothing to plot)';
  let xMin = Math.min(...all.map((p) => p[0]));
  let xMax = Math.max(...all.map((p) => p[0]));
  let yMin = Math.min(...all.map((p) => p[1]));
  // The first steps of training sit far above the rest: above the 98th percentile, points are
  // drawn on the top row, so the part of the curve worth reading gets the height.
  const ys = all.map((p) => p[1]).sort((a, b) => a - b);
  let yMax = ys.length >= 50 ? ys[Math.floor(ys.length * 0.98)] : ys[ys.length - 1];
  if (xMax === xMin) xMax = xMin + 1;
  if (yMax === yMin) {
    yMax += 0.5;
    yMin -= 0.5;
  }
  const grid: string[][] = Array.from({ length: height }, () => Array<string>(width).fill(' '));
  for (const s of series) {
    const sums = new Float64Array(width);
    const counts = new Uint32Array(width);
    for (const [x, y] of s.points) {
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      const col = Math.min(width - 1, Math.round(((x - xMin) / (xMax - xMin)) * (width - 1)));
      sums[col] += y;
      counts[col]++;
    }
    for (let c = 0; c < width; c++) {
      if (counts[c] === 0) continue;
      const y = sums[c] / counts[c];
      const row = Math.max(0, Math.round(((yMax - y) / (yMax - yMin)) * (height - 1)));
      grid[row][c] = s.mark;
    }
  }
  const labels = Array.from({ length: height }, (_, r) => {
    if (r === 0) return fmt(yMax);
    if (r === height - 1) return fmt(yMin);
    if (r === Math.floor((height - 1) / 2)) return fmt(yMax - ((yMax - yMin) * r) / (height - 1));
    return '';
  });
  const pad = Math.max(...labels.map((l) => l.length));
  const lines = grid.map((row, r) => `${labels[r].padStart(pad)} |${row.join('').trimEnd()}`);
  lines.push(`${' '.repeat(pad)} +${'-'.repeat(width)}`);
  const left = fmt(xMin);
  const right = fmt(xMax);
  const mid = options.xLabel ?? '';
  const gap = Math.max(1, width - left.length - right.length - mid.length);
  const midPad = Math.floor(gap / 2);
  lines.push(`${' '.repeat(pad + 2)}${left}${' '.repeat(midPad)}${mid}${' '.repeat(Math.max(1, gap - midPad))}${right}`);
  lines.push(`${' '.repeat(pad + 2)}${series.map((s) => `${s.mark} ${s.label}`).join('   ')}`);
  return lines.join('\n');
}

function fmt(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  return Number(v.toPrecision(3)).toString();
}
