// The live chart: training loss and validation loss (left axis, nats/char) and tokens/s (right
// axis) against the step. Points are kept in bounded arrays (halved when full), and the canvas is
// redrawn at most once per animation frame (or when the caller says), so a long run never makes
// drawing slow.
const MAX_POINTS = 600;
const COLORS = { loss: '#2c6fbb', val: '#d2462d', speed: '#9a9a9a' };

export class LossChart {
  constructor(canvas) {
    this.canvas = canvas;
    this.series = { loss: [], val: [], speed: [] };
    this.dirty = false;
    this.frame = 0;
  }

  /** One training step's progress (TrainProgress); `draw: false` leaves drawing to the caller. */
  add(p, { draw = true } = {}) {
    push(this.series.loss, p.step, p.smoothLoss);
    push(this.series.speed, p.step, p.tokensPerSec);
    if (p.evaluated && p.valLoss !== null) push(this.series.val, p.step, p.valLoss);
    if (draw) this.invalidate();
  }

  clear() {
    for (const s of Object.values(this.series)) s.length = 0;
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
    const lossMax = Math.max(...loss.map((p) => p[1]), ...val.map((p) => p[1])) * 1.05;
    const speedMax = Math.max(...speed.map((p) => p[1]), 1) * 1.1;
    const x = (step) => box.left + ((step - minStep) / Math.max(maxStep - minStep, 1)) * (box.right - box.left);
    const yLoss = (v) => box.bottom - (v / lossMax) * (box.bottom - box.top);
    const ySpeed = (v) => box.bottom - (v / speedMax) * (box.bottom - box.top);

    g.strokeStyle = '#e4e4e4';
    g.beginPath();
    for (let i = 0; i <= 4; i++) {
      const y = box.top + ((box.bottom - box.top) * i) / 4;
      g.moveTo(box.left, y);
      g.lineTo(box.right, y);
      g.fillText((lossMax * (1 - i / 4)).toFixed(2), 4, y + 4);
      g.fillText(kilo(speedMax * (1 - i / 4)), box.right + 6, y + 4);
    }
    g.stroke();
    g.fillText(`step ${minStep}`, box.left, h - 6);
    g.fillText(`step ${maxStep}`, box.right - 60, h - 6);

    line(g, speed, x, ySpeed, COLORS.speed);
    line(g, loss, x, yLoss, COLORS.loss);
    line(g, val, x, yLoss, COLORS.val, true);
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

function line(g, points, x, y, color, dots = false) {
  if (points.length === 0) return;
  g.strokeStyle = color;
  g.fillStyle = color;
  g.lineWidth = 1.5;
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

function kilo(v) {
  return v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0);
}
