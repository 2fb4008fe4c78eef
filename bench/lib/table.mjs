// The one results table (Markdown, so it pastes into docs/benchmarks.md as is): a row per workload and
// system with the median, min-max, timed runs, lstm-wasm (WASM) / system, and the validation verdict.
import { SGEMM_SHAPES, sgemmName } from './common.mjs';

export const REFERENCE = 'lstm-wasm-wasm';

/**
 * [key, label, unit, options]. `optional`: only the systems that report the workload get a row (no
 * 'missing' rows). `refFallback`: while lstm-wasm (WASM) reports no such workload, the ratio is
 * taken against its result on that one instead, and marked so.
 */
const WORKLOADS = [
  ['W1', 'W1 train-charlm', 'tok/s'],
  ['W2', 'W2 infer-stream', 'tok/s'],
  ['W2-modules', 'W2 infer-stream through the modules, one op per module and step', 'tok/s', { optional: true }],
  ['W2-int8', 'W2-int8 infer-stream, int8 LSTM weights', 'tok/s', { optional: true, refFallback: 'W2' }],
  ['W2-f16', 'W2-f16 infer-stream, float16 weights', 'tok/s', { optional: true, refFallback: 'W2' }],
  ['W3', 'W3 forward-batch', 'tok/s'],
  ...SGEMM_SHAPES.map((s) => [`sgemm:${sgemmName(s)}`, `SGEMM ${sgemmName(s)}`, 'GFLOP/s']),
];

const fmt = (x) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** The record of workload `key` (W1..W3, or sgemm:MxNxK) in one system's results, or a status stand-in. */
function recordOf(result, key) {
  if (result.status !== 'ok') return { status: result.status, error: result.error };
  if (key.startsWith('sgemm:')) {
    const s = result.workloads.sgemm;
    if (!s || s.status !== 'ok' && s.status !== 'invalid') return s ?? { status: 'missing' };
    const shape = s.shapes?.[key.slice(6)];
    return shape ? { status: shape.validation.ok ? 'ok' : 'invalid', host: s.host, ...shape } : { status: 'missing' };
  }
  return result.workloads[key] ?? { status: 'missing' };
}

/**
 * Rows for the JSON summary and the table: { workload, system, status, median, min, max, runs,
 * ratio, gflops, host (probe, Mop/s), hostVsRef (host / lstm-wasm's host on that workload), check }.
 */
export function summarize(results) {
  const ref = results.find((r) => r.id === REFERENCE);
  const rows = [];
  for (const [key, label, unit, { optional = false, refFallback = null } = {}] of WORKLOADS) {
    let refRec = ref ? recordOf(ref, key) : null;
    let ratioVs = null;
    if (refFallback && ref && refRec.median === undefined) {
      refRec = recordOf(ref, refFallback);
      ratioVs = refFallback;
    }
    for (const r of results) {
      const rec = recordOf(r, key);
      if (rec.status === 'n/a' || (optional && (r.status !== 'ok' || rec.status === 'missing'))) continue;
      const row = { workload: label, key, unit, system: r.name, id: r.id, status: rec.status };
      if (rec.median !== undefined) {
        Object.assign(row, { median: rec.median, min: rec.min, max: rec.max, runs: rec.runs });
        if (rec.gflops) row.gflops = rec.gflops.median;
        if (refRec?.median !== undefined) row.ratio = refRec.median / rec.median;
        if (row.ratio !== undefined && ratioVs) row.ratioVs = ratioVs;
        if (rec.host !== undefined) row.host = rec.host;
        if (rec.host !== undefined && refRec?.host !== undefined) row.hostVsRef = rec.host / refRec.host;
      }
      row.check = rec.validation?.detail ?? rec.reason ?? rec.error ?? '';
      rows.push(row);
    }
  }
  return rows;
}

export function markdownTable(rows) {
  const lines = [
    '| workload | system | median | min-max | runs | lstm-wasm ÷ system | host speed | check |',
    '|---|---|--:|--:|--:|--:|--:|---|',
  ];
  let last = '';
  for (const r of rows) {
    const name = r.workload === last ? '' : `${r.workload} (${r.unit})`;
    last = r.workload;
    if (r.median === undefined) {
      const why = r.status === 'skipped' ? 'skipped' : `${r.status}: ${firstLine(r.check)}`;
      lines.push(`| ${name} | ${r.system} | — | — | — | — | — | ${why} |`);
      continue;
    }
    const median = r.gflops !== undefined ? `${fmt(r.median)} (${fmt(r.gflops)} GFLOP/s)` : fmt(r.median);
    const ratio = r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}×${r.ratioVs ? ` (lstm-wasm's ${r.ratioVs})` : ''}`;
    const check = r.status === 'ok' ? 'ok' : `**${r.status.toUpperCase()}**`;
    const host = r.hostVsRef === undefined ? '—' : `${r.hostVsRef.toFixed(2)}×`;
    lines.push(`| ${name} | ${r.system} | ${median} | ${fmt(r.min)}-${fmt(r.max)} | ${r.runs} | ${ratio} | ${host} | ${check} |`);
  }
  return lines.join('\n');
}

const firstLine = (s) => String(s).split('\n')[0].slice(0, 160).replace(/\|/g, '/');

/** Validation details and deviations, one bullet each, for under the table. */
export function notes(results, rows) {
  const out = [];
  const vs = [...new Set(rows.filter((r) => r.ratioVs).map((r) => `${r.workload}: against lstm-wasm's ${r.ratioVs} (float32), which has no ${r.key}`))];
  for (const v of vs) out.push(`- lstm-wasm ÷ system on ${v}`);
  // SGEMM checks are listed only when they fail; every recurrent workload's check is listed.
  for (const r of rows) {
    if (r.check && r.median !== undefined && (r.status !== 'ok' || !r.key.startsWith('sgemm'))) out.push(`- ${r.workload}, ${r.system}: ${firstLine(r.check)}`);
  }
  for (const r of results) {
    if (r.status !== 'ok') out.push(`- ${r.name}: ${r.status}: ${firstLine(r.error ?? '')}`);
    if (r.detail) out.push(`- ${r.name}: ${r.detail}`);
    for (const d of r.deviations ?? []) out.push(`- ${r.name} deviates: ${d}`);
  }
  return out.join('\n');
}
