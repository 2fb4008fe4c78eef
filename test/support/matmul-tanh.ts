/**
 * The float64 reference of the tiny computation the package, bundler and browser checks run
 * through the library: x (2,3), w (3,2), loss = sum(tanh(x @ w)).
 * dloss/dy = 1 - tanh(y)^2, dx = dy @ w^T, dw = x^T @ dy.
 */
export function matmulTanhReference(X: readonly number[], W: readonly number[]): { loss: number; dx: number[]; dw: number[] } {
  const y: number[] = [];
  for (let m = 0; m < 2; m++) {
    for (let n = 0; n < 2; n++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += X[m * 3 + k]! * W[k * 2 + n]!;
      y.push(s);
    }
  }
  const t = y.map(Math.tanh);
  const dy = t.map((v) => 1 - v * v);
  const dx: number[] = [];
  for (let m = 0; m < 2; m++) {
    for (let k = 0; k < 3; k++) dx.push(dy[m * 2]! * W[k * 2]! + dy[m * 2 + 1]! * W[k * 2 + 1]!);
  }
  const dw: number[] = [];
  for (let k = 0; k < 3; k++) {
    for (let n = 0; n < 2; n++) dw.push(X[k]! * dy[n]! + X[3 + k]! * dy[2 + n]!);
  }
  return { loss: t.reduce((a, b) => a + b, 0), dx, dw };
}
