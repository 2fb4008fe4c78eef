// The CLI's pure pieces, from source: the ASCII plot, the progress bar/log lines, duration flags.
import { describe, expect, it } from 'vitest';
import { asciiPlot } from '../../ts/cli/plot';
import { ProgressView, logLine, formatDuration } from '../../ts/cli/progress';
import { parseDuration } from '../../ts/cli/args';

const progress = {
  step: 120, epoch: 0.0625, loss: 1.9, smoothLoss: 1.95, valLoss: 2.01, perplexity: Math.exp(2.01),
  tokensPerSec: 10450, msPerStep: 196, etaMs: 95_000, fraction: 0.4, elapsedMs: 63_000, evaluated: false,
};

describe('asciiPlot', () => {
  it('draws a falling curve top-left to bottom-right with labelled axes and a legend', () => {
    const points: [number, number][] = Array.from({ length: 100 }, (_, i) => [i + 1, 3 * Math.exp(-i / 30) + 1]);
    const out = asciiPlot([{ points, mark: '.', label: 'training loss' }, { points: [[50, 1.8], [100, 1.2]], mark: 'o', label: 'validation loss' }], { width: 40, height: 10, xLabel: 'step' });
    const lines = out.split('\n');
    expect(lines).toHaveLength(10 + 3);
    const grid = lines.slice(0, 10).map((l) => l.slice(l.indexOf('|') + 1));
    expect(grid[0].indexOf('.')).toBeLessThan(3); // high at the start
    expect(grid[9].lastIndexOf('.')).toBeGreaterThan(30); // low at the end
    expect(out).toContain('o');
    expect(lines[10]).toMatch(/^\s+\+-{40}$/);
    expect(lines[11]).toMatch(/^\s+1\s+step\s+100$/);
    expect(lines[12]).toMatch(/\. training loss {3}o validation loss/);
    expect(lines[9]).toMatch(/^\s*1\.\d+ \|/); // y minimum label
  });

  it('copes with no points, one point and a flat line', () => {
    expect(asciiPlot([{ points: [], mark: '.', label: 'x' }])).toBe('(nothing to plot)');
    expect(asciiPlot([{ points: [[1, 2]], mark: '*', label: 'x' }])).toContain('*');
    expect(asciiPlot([{ points: [[1, 2], [2, 2], [3, 2]], mark: '*', label: 'x' }], { height: 5 })).toContain('*');
  });
});

describe('progress output', () => {
  it('a log line has step, epoch, loss, val, perplexity, tokens/s, ms/step, elapsed and ETA', () => {
    expect(logLine(progress)).toBe('step 120  epoch 0.06  loss 1.950  val 2.010  ppl 7.46  10.4k tok/s  196 ms/step  elapsed 1:03  ETA 1:35');
    expect(formatDuration(3_725_000)).toBe('1:02:05');
  });

  it('on a TTY draws a bar in place and keeps printed lines above it', () => {
    let written = '';
    const fake = { isTTY: true, columns: 100, write: (s: string) => (written += s) } as unknown as NodeJS.WriteStream;
    const term = process.env.TERM;
    process.env.TERM = 'xterm';
    const view = new ProgressView(fake);
    if (term === undefined) delete process.env.TERM;
    else process.env.TERM = term;
    expect(view.isTTY).toBe(true);
    view.update(progress);
    expect(written).toMatch(/^\r\x1b\[2K 40% \[#+\.+\] step 120 \| loss 1\.950 \| val 2\.010 \| 10\.4k tok\/s \| ETA 1:35$/);
    written = '';
    view.print('a sample');
    // Clear the bar, print the line, redraw the bar below it.
    expect(written).toMatch(/^\r\x1b\[2Ka sample\n\r\x1b\[2K 40% \[/);
    written = '';
    view.done();
    expect(written).toBe('\r\x1b[2K');
  });

  it('without a TTY prints plain lines only', () => {
    let written = '';
    const fake = { isTTY: false, write: (s: string) => (written += s) } as unknown as NodeJS.WriteStream;
    const view = new ProgressView(fake);
    view.update(progress);
    view.print('line');
    expect(written).toBe('line\n');
  });
});

describe('durations', () => {
  it('parses 90, 90s, 4m, 1.5h, 500ms and rejects the rest', () => {
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('4m')).toBe(240_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    for (const bad of ['', 'soon', '-3s', '0', '4 minutes']) expect(parseDuration(bad), bad).toBeNull();
  });
});
