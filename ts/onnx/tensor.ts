/**
 * A TensorProto to an OnnxTensor: its dims checked (integers, 0 <= d, at most MAX_ELEMENTS
 * elements), its data type one lstm-wasm reads, its data inside the file (not external) and exactly
 * as long as dims and type say, in raw_data or in the typed field, not both. Everything is
 * checked before the data array is allocated, so its size is bounded by the bytes of the file.
 */
import { FormatError } from 'lstm-wasm';
import { READABLE_TYPES, dataTypeName, readableType } from './data-types';
import { MAX_ELEMENTS, MAX_RANK } from './limits';
import type { OnnxTensor, OnnxTensorData } from './model';
import { int64Value, type Int64, type TensorProto } from './proto';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** `where` names the tensor for messages: "initializer 'w'", "node 'Constant_3' attribute 'value'". */
export function convertTensor(t: TensorProto, where: string): OnnxTensor {
  const external = t.externalData.find((e) => e.key === 'location');
  if (t.dataLocation === 1 || t.externalData.length > 0) {
    throw new FormatError(
      `readOnnx: ${where} keeps its data in an external file${external ? ` ('${external.value}')` : ''}; lstm-wasm reads models whose weights are inside the file: ` +
        're-export it that way (torch.onnx.export without the large-model / external-data mode, or onnx.save(model, path, save_as_external_data=False))',
    );
  }
  const dims = checkDims(t.dims, where);
  const count = dims.reduce((a, b) => a * b, 1); // checkDims bounds the product
  const typeName = dataTypeName(t.dataType);
  if (typeName === null) throw new FormatError(`readOnnx: ${where} has data type ${t.dataType}, which ONNX does not define`);
  const readable = readableType(t.dataType);
  if (readable === null) throw new FormatError(`readOnnx: ${where} has data type ${typeName} (${t.dataType}), which lstm-wasm does not read (it reads ${READABLE_TYPES})`);
  const values = t[readable.field];
  const raw = t.rawData;
  if (raw.length > 0 && values.length > 0) throw new FormatError(`readOnnx: ${where} has its data twice, in raw_data and in ${snake(readable.field)}`);
  if (raw.length > 0 || values.length === 0) {
    const want = count * readable.bytes;
    if (raw.length !== want) {
      throw new FormatError(`readOnnx: ${where} has ${raw.length} bytes of data, but dims ${formatDims(dims)} of ${typeName} need ${want} (${count} elements of ${readable.bytes} bytes)`);
    }
    return { name: t.name, dims, dataType: typeName, data: fromRaw(readable.make(count), raw) };
  }
  if (values.length !== count) {
    throw new FormatError(`readOnnx: ${where} has ${values.length} values in ${snake(readable.field)}, but dims ${formatDims(dims)} say ${count} elements`);
  }
  return { name: t.name, dims, dataType: typeName, data: fromValues(readable.make(count), values, where) };
}

/** Dims as numbers: integers, >= 0, their product at most MAX_ELEMENTS. */
function checkDims(raw: Int64[], where: string): number[] {
  if (raw.length > MAX_RANK) throw new FormatError(`readOnnx: ${where} has ${raw.length} dims, at most ${MAX_RANK} are read`);
  const dims = raw.map((d) => int64Value(d));
  let count = 1;
  for (const d of dims) {
    if (typeof d !== 'number' || d < 0) throw new FormatError(`readOnnx: ${where} has dims [${dims.join(', ')}]: ${d} is not a size (an integer >= 0)`);
    count *= d;
    if (count > MAX_ELEMENTS) throw new FormatError(`readOnnx: ${where} has dims [${dims.join(', ')}], more than 2^31 - 1 elements`);
  }
  return dims as number[];
}

/** Little-endian raw_data into `out` (whose length matches). */
function fromRaw(out: OnnxTensorData, raw: Uint8Array): OnnxTensorData {
  if (LITTLE_ENDIAN || out.BYTES_PER_ELEMENT === 1) {
    new Uint8Array(out.buffer).set(raw);
  } else {
    const bytes = new Uint8Array(out.buffer);
    const k = out.BYTES_PER_ELEMENT;
    for (let i = 0; i < raw.length; i += k) for (let j = 0; j < k; j++) bytes[i + j] = raw[i + k - 1 - j];
  }
  return out;
}

/** Values of a typed field into `out`: a value the type cannot hold is a FormatError, not wrapped silently. */
function fromValues(out: OnnxTensorData, values: (number | Int64)[], where: string): OnnxTensorData {
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    for (let i = 0; i < values.length; i++) {
      const v = int64Value(values[i] as Int64);
      out[i] = typeof v === 'bigint' ? v : BigInt(v);
      if (out[i] !== (typeof v === 'bigint' ? v : BigInt(v))) throw new FormatError(`readOnnx: ${where} value ${i} (${v}) is out of range`);
    }
    return out;
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const n = typeof v === 'number' ? v : Number(int64Value(v));
    out[i] = n;
    if (out[i] !== n && !(Number.isNaN(n) || out instanceof Float32Array)) throw new FormatError(`readOnnx: ${where} value ${i} (${n}) does not fit its data type`);
  }
  return out;
}

function formatDims(dims: number[]): string {
  return `[${dims.join(', ')}]`;
}

function snake(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
