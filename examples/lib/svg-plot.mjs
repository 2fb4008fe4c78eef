// A line plot as a standalone SVG file, for the examples' results (no dependencies).
//
//   writeLinePlot('out/accuracy.svg', {
//     title: 'Accuracy against distance', xLabel: 'distance', yLabel: 'accuracy',
//     series: [{ label: 'LSTM', points: [[10, 0.98], [50, 0.95]] }, { label: 'RNN', points: [...] }],
//     logY: false,
//   });
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const W = 640;
const H = 400;
const M = { left: 70, right: 150, top: 40, bottom: 50 };

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v) => (Math.abs(v) >= 1e5 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : +v.toPrecision(3)).toString();

/** The SVG text of a line plot; `logY` plots log10 of y (values <= 0 are left out). */
export function linePlot({ title, xLabel, yLabel, series, logY = false }) {
  const ty = (y) => (logY ? Math.log10(y) : y);
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0));
  if (pts.length === 0) throw new Error(`linePlot '${title}': no finite points to plot`);
  let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...pts.map((p) => ty(p[1]))), Math.max(...pts.map((p) => ty(p[1])))];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const px = (x) => M.left + ((x - x0) / (x1 - x0)) * (W - M.left - M.right);
  const py = (y) => H - M.bottom - ((ty(y) - y0) / (y1 - y0)) * (H - M.top - M.bottom);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`,
    `<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="black"/>`,
    `<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="black"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const xv = x0 + ((x1 - x0) * i) / 4;
    const yv = y0 + ((y1 - y0) * i) / 4;
    const yy = H - M.bottom - ((yv - y0) / (y1 - y0)) * (H - M.top - M.bottom);
    out.push(`<text x="${px(xv)}" y="${H - M.bottom + 16}" text-anchor="middle">${fmt(xv)}</text>`);
    out.push(`<text x="${M.left - 6}" y="${yy + 4}" text-anchor="end">${fmt(logY ? 10 ** yv : yv)}</text>`);
    out.push(`<line x1="${M.left}" y1="${yy}" x2="${W - M.right}" y2="${yy}" stroke="#ddd"/>`);
  }
  out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle">${esc(xLabel)}</text>`);
  out.push(`<text x="16" y="${(M.top + H - M.bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(M.top + H - M.bottom) / 2})">${esc(yLabel)}${logY ? ' (log)' : ''}</text>`);
  series.forEach((s, i) => {
    const color = s.color ?? COLORS[i % COLORS.length];
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0));
    if (p.length > 1) out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${p.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y] of p) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${color}"/>`);
    out.push(`<rect x="${W - M.right + 12}" y="${M.top + i * 20 - 9}" width="12" height="3" fill="${color}"/>`);
    out.push(`<text x="${W - M.right + 30}" y="${M.top + i * 20 - 4}">${esc(s.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Writes `linePlot(spec)` to `file` (its folder is made if missing); returns the path. */
export function writeLinePlot(file, spec) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, linePlot(spec));
  return file;
}
