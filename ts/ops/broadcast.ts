/**
 * NumPy/PyTorch broadcasting: the result shape of several shapes, and the plan the broadcast
 * kernels (`lw_binary_bcast`, `lw_compare_bcast`, `lw_where_bcast` and their backward) take: the
 * output shape with adjacent dims merged where every input allows it (so a (4,1) x (4,5) op is a
 * 2-D walk and a same-shape op a 1-D one), and each input's strides, 0 on broadcast dims.
 */
import { Tensor } from '../tensor';
import { backend } from '../backend/backend';
import { ShapeError, formatShape } from '../errors';

/** Most dims the kernels take after merging (crate/abi.rs `MAX_BCAST_DIMS`). */
const MAX_BCAST_DIMS = 16;

/**
 * The broadcast shape of `shapes` (aligned at the right; each dim equal or 1). Throws a ShapeError
 * naming the op, the arguments, both shapes and the dim that disagrees.
 */
export function broadcastShapes(op: string, names: readonly string[], shapes: readonly (readonly number[])[]): number[] {
  const ndim = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let d = 0; d < ndim; d++) {
    let size = 1;
    let owner = -1;
    for (let k = 0; k < shapes.length; k++) {
      const s = shapes[k];
      const dk = s[d - (ndim - s.length)] ?? 1;
      if (dk === 1) continue;
      if (size !== 1 && dk !== size) {
        throw new ShapeError(
          `${op}: ${names[owner]} ${formatShape(shapes[owner])} and ${names[k]} ${formatShape(s)} do not broadcast ` +
            `(dim ${d - ndim} is ${size} vs ${dk}; each dim must be equal or 1, aligned from the right)`,
        );
      }
      size = dk;
      owner = k;
    }
    out.push(size);
  }
  return out;
}

/** The merged walk: `dims` (at least one) and one stride row per input. */
export interface BroadcastPlan {
  dims: number[];
  strides: number[][];
}

/** How each of `shapes` is read to fill `outShape` (which they must broadcast to). */
export function planBroadcast(outShape: readonly number[], shapes: readonly (readonly number[])[]): BroadcastPlan {
  const ndim = outShape.length;
  // Per input, the contiguous stride of each output dim, 0 where the input has 1 (or nothing).
  const full = shapes.map((s) => {
    const st = new Array<number>(ndim).fill(0);
    let acc = 1;
    for (let d = ndim - 1; d >= 0; d--) {
      const dk = s[d - (ndim - s.length)] ?? 1;
      st[d] = dk === 1 ? 0 : acc;
      acc *= dk;
    }
    return st;
  });
  const dims: number[] = [];
  const strides: number[][] = shapes.map(() => []);
  for (let d = 0; d < ndim; d++) {
    if (outShape[d] === 1) continue;
    const last = dims.length - 1;
    // Merge into the previous kept dim when every input steps through both as one dim.
    if (last >= 0 && full.every((st, k) => strides[k][last] === st[d] * outShape[d])) {
      dims[last] *= outShape[d];
      full.forEach((st, k) => { strides[k][last] = st[d]; });
      continue;
    }
    dims.push(outShape[d]);
    full.forEach((st, k) => strides[k].push(st[d]));
  }
  if (dims.length === 0) return { dims: [1], strides: shapes.map(() => [0]) };
  return { dims, strides };
}

/**
 * The plan as the int32 table the kernels read (dims, then each stride row). The caller disposes
 * it. Throws a ShapeError past MAX_BCAST_DIMS merged dims.
 */
export function planTable(op: string, plan: BroadcastPlan): Tensor {
  if (plan.dims.length > MAX_BCAST_DIMS) {
    throw new ShapeError(`${op}: this broadcast needs ${plan.dims.length} dims after merging, at most ${MAX_BCAST_DIMS} are supported`);
  }
  const rows = [plan.dims, ...plan.strides];
  const t = new Tensor([rows.length * plan.dims.length], 'int32');
  backend().i32().set(rows.flat(), t.ptr >>> 2);
  return t;
}

/** A 0-d float32 tensor holding `value` (a scalar operand, read at stride 0). */
export function scalarTensor(value: number): Tensor {
  const t = new Tensor([]);
  backend().f32()[t.ptr >>> 2] = value;
  return t;
}
