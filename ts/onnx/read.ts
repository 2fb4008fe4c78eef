/**
 * `readOnnx(bytes)`: an ONNX model file (a ModelProto) to an OnnxModel, checked whole: the wire
 * format (ts/onnx/decode.ts), the default domain's opset (MIN_OPSET..MAX_OPSET), then the graph
 * (ts/onnx/graph.ts). A file is untrusted input: whatever it holds gives a model or a FormatError
 * that names the problem and the node or initializer, in time and memory bounded by its length
 * (ts/onnx/limits.ts). Which operators a model may use is the runtime's question (`unsupportedOps`).
 */
import { FormatError } from 'lstm-wasm';
import { decodeModelProto } from './decode';
import { convertMainGraph } from './graph';
import { MAX_OPSET, MIN_OPSET } from './limits';
import type { OnnxModel, OnnxOpsetImport } from './model';
import { int64Value, type ModelProto } from './proto';

/** Reads an ONNX model (the bytes of a .onnx file); see the module comment for what is checked. */
export function readOnnx(input: Uint8Array | ArrayBuffer): OnnxModel {
  const bytes = input instanceof Uint8Array ? input : input instanceof ArrayBuffer ? new Uint8Array(input) : null;
  if (bytes === null) throw new FormatError(`readOnnx: expected the bytes of an .onnx file (a Uint8Array or ArrayBuffer), got ${describeInput(input)}`);
  const otherFormat = sniffOtherFormat(bytes);
  if (otherFormat !== null) throw new FormatError(`readOnnx: not an ONNX model: ${otherFormat}`);
  const proto = decodeModelProto(bytes);
  const irVersion = int64Value(proto.irVersion);
  if (proto.graph === null || typeof irVersion !== 'number' || irVersion < 1) {
    throw new FormatError(`readOnnx: not an ONNX model (${bytes.length} bytes that decode as protobuf, but without ${proto.graph === null ? 'a graph' : 'an IR version'})`);
  }
  const opsetImports = proto.opsetImport.map((o): OnnxOpsetImport => {
    const version = int64Value(o.version);
    return { domain: o.domain === 'ai.onnx' ? '' : o.domain, version: Number(version) };
  });
  const opset = defaultOpset(proto, opsetImports);
  const graph = convertMainGraph(proto.graph);
  return { irVersion, opsetImports, opset, producer: { name: proto.producerName, version: proto.producerVersion }, graph };
}

function defaultOpset(proto: ModelProto, imports: OnnxOpsetImport[]): number {
  const supported = `lstm-wasm reads opsets ${MIN_OPSET} to ${MAX_OPSET} (torch.onnx.export(..., opset_version=17) writes one)`;
  const own = imports.filter((o) => o.domain === '');
  if (own.length === 0) throw new FormatError(`readOnnx: the model imports no opset of the default domain (ai.onnx)${proto.opsetImport.length === 0 ? ' (no opset_import at all)' : ''}; ${supported}`);
  if (own.length > 1) throw new FormatError(`readOnnx: the model imports the default domain (ai.onnx) twice, opsets ${own.map((o) => o.version).join(' and ')}`);
  const { version } = own[0];
  if (!(version >= MIN_OPSET && version <= MAX_OPSET)) throw new FormatError(`readOnnx: the model uses opset ${version} of the default domain (ai.onnx); ${supported}`);
  return version;
}

/** Formats a reader is likely to be handed by mistake, recognized by their first bytes. */
function sniffOtherFormat(b: Uint8Array): string | null {
  if (b.length === 0) return 'the file is empty (0 bytes)';
  if (b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04) return 'a zip archive (a torch.save file? read it with loadTorch)';
  if (b[0] === 0x80 && b.length > 1 && b[1] <= 5) return 'a pickle (a legacy torch.save file?)';
  if (b.length >= 9 && b[8] === 0x7b && b[4] === 0 && b[5] === 0 && b[6] === 0 && b[7] === 0) return 'a safetensors file (read it with loadSafetensors)';
  if (b[0] === 0x7b || b[0] === 0x5b) return 'JSON text';
  if (b[0] === 0x1f && b[1] === 0x8b) return 'gzip-compressed data (decompress it first)';
  return null;
}

function describeInput(x: unknown): string {
  if (x === null) return 'null';
  if (ArrayBuffer.isView(x)) return x.constructor.name;
  return typeof x === 'object' ? (x.constructor?.name ?? 'an object') : typeof x;
}
