// The live chart: training loss and validation loss (left axis, nats/char) and tokens/s (right
// axis) against the step. Points are kept in bounded arrays (halved when full), and the canvas is
// redrawn at most once per animation frame (or when the caller says), so a long run never makes
// drawing slow.
const MAX_POINTS = 600;
// tokens/s is context, not the subject: a light thin line under the two losses.
const COLORS = { loss: '#2c6fbb', val: '#d2462d', speed: '#c4c4c4' };
// The median of the last SPEED_WINDOW speeds. The trainer's tokens/s follows a moving average
// of the step time (weight 0.1), so one slow step (a validation, a sample) lowers some 20
// readings (more for a longer one); a median of the last 61 hardly follows them.
const SPEED_WINDOW = 61;
// The trainer's smoothed loss is the mean of the last 50 steps' losses (trainer.ts, SMOOTH).
const LOSS_SMOOTH = 50;

/**
 * Tick values for an axis from 0 (or `min`) to at least `max`: multiples of 1, 2 or 5 x 10^k, at
 * most `count` + 1 of them, the last one >= max. Returns { step, ticks }.
 */
export function niceTicks(min, max, count = 5) {
  if (!(max > min)) max = min + 1;
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw * (1 - 1e-9));
  const first = Math.floor(min / step + 1e-9) * step;
  const ticks = [];
  for (let i = 0; ; i++) {
    // Rounded to the step's decimals, so 0.1 * 3 is 0.3, not 0.30000000000000004.
    const v = Number((first + i * step).toFixed(Math.max(0, -Math.floor(Math.log10(step)))));
    ticks.push(v);
    if (v >= max - step * 1e-9) break;
  }
  return { step, ticks };
}

/** A tick's label: as many decimals as the step needs; thousands as "k" (10k, 2.5k). */
export function tickLabel(v, step) {
  if (Math.abs(v) >= 1000) return `${Number((v / 1000).toFixed(Math.max(0, -Math.floor(Math.log10(step / 1000)))))}k`;
  return v.toFixed(Math.max(0, -Math.floor(Math.log10(step))));
}

/** The middle value of `values` (the mean of the two middle ones for an even count). */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The chart's loss and validation series of a checkpoint's trainer state
 * (decodeCheckpoint(bytes).meta.trainer: per-step `losses`, validation points `val`), smoothed as
 * training shows them, for a model opened after a reload or from a file.
 */
export function historyFromTrainer(trainer) {
  const loss = [];
  const val = [];
  if (!trainer) return { loss, val };
  const { losses, step } = trainer;
  // The losses are those of the last losses.length steps (a checkpoint from a fine-tuning run
  // starts its history at its own first step).
  const first = step - losses.length + 1;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < losses.length; i++) {
    const l = losses[i] ?? NaN;
    if (Number.isFinite(l)) {
      sum += l;
      n++;
    }
    const out = i - LOSS_SMOOTH >= 0 ? losses[i - LOSS_SMOOTH] ?? NaN : NaN;
    if (Number.isFinite(out)) {
      sum -= out;
      n--;
    }
    if (n > 0) loss.push([first + i, sum / n]);
  }
  for (const p of trainer.val) if (Number.isFinite(p.valLoss)) val.push([p.step, p.valLoss]);
  return { loss, val };
}

export class LossChart {
  constructor(canvas) {
    this.canvas = canvas;
    this.series = { loss: [], val: [], speed: [] };
    this.recentSpeeds = [];
    this.dirty = false;
    this.frame = 0;
  }

  /** One training step's progress (TrainProgress); `draw: false` leaves drawing to the caller. */
  add(p, { draw = true } = {}) {
    push(this.series.loss, p.step, p.smoothLoss);
    if (Number.isFinite(p.tokensPerSec)) {
      this.recentSpeeds.push(p.tokensPerSec);
      if (this.recentSpeeds.length > SPEED_WINDOW) this.recentSpeeds.shift();
      push(this.series.speed, p.step, median(this.recentSpeeds));
    }
    if (p.evaluated && p.valLoss !== null) push(this.series.val, p.step, p.valLoss);
    if (draw) this.invalidate();
  }

  /** Starts the chart from a checkpoint's history (historyFromTrainer); its speed was not kept. */
  restore({ loss, val }) {
    this.clear();
    for (const [x, y] of loss) push(this.series.loss, x, y);
    for (const [x, y] of val) push(this.series.val, x, y);
  }

  clear() {
    for (const s of Object.values(this.series)) s.length = 0;
    this.recentSpeeds.length = 0;
    this.invalidate();
  }

  invalidate() {
    if (this.dirty) return;
    this.dirty = true;
    this.frame = requestAnimationFrame(() => {
      this.dirty = false;
      this.draw();
    });
  }

  draw() {
    const c = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const w = c.clientWidth || c.width;
    const h = c.clientHeight || c.height;
    if (c.width !== Math.round(w * ratio) || c.height !== Math.round(h * ratio)) {
      c.width = Math.round(w * ratio);
      c.height = Math.round(h * ratio);
    }
    const g = c.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, w, h);
    const box = { left: 44, right: w - 56, top: 12, bottom: h - 24 };
    const { loss, val, speed } = this.series;
    g.font = '11px system-ui, sans-serif';
    g.fillStyle = '#666';
    if (loss.length === 0) {
      g.fillText('Loss and speed appear here once training starts.', box.left, h / 2);
      return;
    }
    const maxStep = Math.max(loss[loss.length - 1][0], 1);
    const minStep = loss[0][0];
    const lossTicks = niceTicks(0, Math.max(...loss.map((p) => p[1]), ...val.map((p) => p[1])));
    const speedTicks = niceTicks(0, Math.max(...speed.map((p) => p[1]), 1));
    const lossTop = lossTicks.ticks[lossTicks.ticks.length - 1];
    const speedTop = speedTicks.ticks[speedTicks.ticks.length - 1];
    const x = (step) => box.left + ((step - minStep) / Math.max(maxStep - minStep, 1)) * (box.right - box.left);
    const yLoss = (v) => box.bottom - (v / lossTop) * (box.bottom - box.top);
    const ySpeed = (v) => box.bottom - (v / speedTop) * (box.bottom - box.top);

    g.strokeStyle = '#e4e4e4';
    g.beginPath();
    for (const v of lossTicks.ticks) {
      const y = yLoss(v);
      g.moveTo(box.left, y);
      g.lineTo(box.right, y);
      g.fillText(tickLabel(v, lossTicks.step), 4, y + 4);
    }
    g.stroke();
    if (speed.length > 0) for (const v of speedTicks.ticks) g.fillText(tickLabel(v, speedTicks.step), box.right + 6, ySpeed(v) + 4);
    g.fillText(`step ${minStep}`, box.left, h - 6);
    g.fillText(`step ${maxStep}`, box.right - 60, h - 6);

    line(g, speed, x, ySpeed, COLORS.speed, { width: 1 });
    line(g, loss, x, yLoss, COLORS.loss);
    line(g, val, x, yLoss, COLORS.val, { dots: true });
    legend(g, box, [['train loss', COLORS.loss], ['validation loss', COLORS.val], ['tokens/s (right)', COLORS.speed]]);
  }
}

/** Appends (x, y); a full series drops every other point, keeping its shape at half the detail. */
function push(series, x, y) {
  if (!Number.isFinite(y)) return;
  series.push([x, y]);
  if (series.length > MAX_POINTS) {
    let j = 0;
    for (let i = 0; i < series.length; i += 2) series[j++] = series[i];
    series.length = j;
  }
}

function line(g, points, x, y, color, { dots = false, width = 1.5 } = {}) {
  if (points.length === 0) return;
  g.strokeStyle = color;
  g.fillStyle = color;
  g.lineWidth = width;
  g.beginPath();
  points.forEach(([px, py], i) => (i === 0 ? g.moveTo(x(px), y(py)) : g.lineTo(x(px), y(py))));
  g.stroke();
  if (dots) for (const [px, py] of points) g.fillRect(x(px) - 2, y(py) - 2, 4, 4);
  g.lineWidth = 1;
}

function legend(g, box, items) {
  let left = box.left + 8;
  for (const [name, color] of items) {
    g.fillStyle = color;
    g.fillRect(left, box.top + 2, 10, 3);
    g.fillStyle = '#333';
    g.fillText(name, left + 14, box.top + 7);
    left += g.measureText(name).width + 30;
  }
}
