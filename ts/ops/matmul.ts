/**
 * matmul: a (..., M, K) @ b (K, N) or a (..., M, K) @ b (..., K, N) with equal leading dims.
 * Every product is one sgemm call (per batch entry when b is batched); backward uses the
 * transposed variants, which the crate's sgemm runs at full speed by packing either layout.
 */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { needsGrad, record } from '../autograd';
import { ShapeError, formatShape } from '../errors';
import { assertFloat } from './util';

/** C (M,N) = alpha * op(A) op(B) + beta * C on tensors' data at element offsets. */
export function sgemm(
  transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  a: Tensor, aOffset: number, b: Tensor, bOffset: number, beta: number, c: Tensor, cOffset: number,
): void {
  backend().k.lw_sgemm(
    transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha,
    a.ptr + 4 * aOffset, transA ? m : k,
    b.ptr + 4 * bOffset, transB ? k : n,
    beta, c.ptr + 4 * cOffset, n,
  );
}

/** PyTorch `bmm`: (B, n, m) @ (B, m, p) -> (B, n, p), both 3-D with the same B (no broadcasting; `matmul` broadcasts). */
export function bmm(a: Tensor, b: Tensor): Tensor {
  assertFloat('bmm', 'a', a);
  assertFloat('bmm', 'b', b);
  if (a.ndim !== 3 || b.ndim !== 3 || a.shape[0] !== b.shape[0]) {
    throw new ShapeError(`bmm: expected (B, n, m) and (B, m, p) with the same B, got ${formatShape(a.shape)} and ${formatShape(b.shape)} (matmul broadcasts)`);
  }
  return matmul(a, b);
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  assertFloat('matmul', 'a', a);
  assertFloat('matmul', 'b', b);
  if (a.ndim < 2 || b.ndim < 2) {
    throw new ShapeError(`matmul: both operands must be at least 2-D, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  const m = a.shape[a.ndim - 2];
  const k = a.shape[a.ndim - 1];
  const n = b.shape[b.ndim - 1];
  if (b.shape[b.ndim - 2] !== k) {
    throw new ShapeError(`matmul: b has ${b.shape[b.ndim - 2]} rows ${formatShape(b.shape)}, expected ${k} (the columns of a ${formatShape(a.shape)})`);
  }
  const batchShape = a.shape.slice(0, -2);
  const batch = batchShape.reduce((x, y) => x * y, 1);
  const bBatched = b.ndim > 2;
  if (bBatched && (b.ndim !== a.ndim || b.shape.slice(0, -2).some((d, i) => d !== batchShape[i]))) {
    throw new ShapeError(`matmul: batched b ${formatShape(b.shape)} must have the leading dims of a ${formatShape(a.shape)}`);
  }
  const out = new Tensor([...batchShape, m, n]);
  if (!bBatched) {
    // All rows of all batch entries against one matrix: a single GEMM.
    sgemm(false, false, batch * m, n, k, 1, a, 0, b, 0, 0, out, 0);
  } else {
    for (let i = 0; i < batch; i++) sgemm(false, false, m, n, k, 1, a, i * m * k, b, i * k * n, 0, out, i * m * n);
  }
  if (!needsGrad(a, b)) return out;
  return record(out, 'matmul', [a, b], (g) => {
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (a.requiresGrad) {
      // dA = dC @ B^T
      ga = new Tensor(a.shape);
      if (!bBatched) sgemm(false, true, batch * m, k, n, 1, g, 0, b, 0, 0, ga, 0);
      else for (let i = 0; i < batch; i++) sgemm(false, true, m, k, n, 1, g, i * m * n, b, i * k * n, 0, ga, i * m * k);
    }
    if (b.requiresGrad) {
      // dB = A^T @ dC (summed over the batch when b is shared)
      gb = new Tensor(b.shape);
      if (!bBatched) sgemm(true, false, k, n, batch * m, 1, a, 0, g, 0, 0, gb, 0);
      else for (let i = 0; i < batch; i++) sgemm(true, false, k, n, m, 1, a, i * m * k, g, i * m * n, 0, gb, i * k * n);
    }
    return [ga, gb];
  });
}
