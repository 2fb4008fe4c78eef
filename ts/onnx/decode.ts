/**
 * Bytes to a ModelProto with the generated decoder (ts/onnx/onnx-proto.generated.ts), on a reader
 * that bounds what the file can make it allocate. Any failure of the wire format (truncated, a
 * length past the end, an invalid varint or tag, nesting deeper than protobufjs's limit of 100,
 * a stack overflow all the same) becomes a FormatError naming the problem and the byte offset.
 */
import { FormatError } from 'lstm-wasm';
import { MAX_FIELDS } from './limits';
import { ProtoReaderClass, int64Value, onnxProto, type Int64, type ModelProto } from './proto';

/**
 * protobufjs's Reader with two changes: int64 values are numbers (bigints beyond 2^53) instead of
 * long.js objects, which cost 40 bytes each and would let a packed field of one-byte varints grow
 * 40-fold in memory; and it counts the fields it reads, refusing more than MAX_FIELDS.
 */
class BoundedReader extends ProtoReaderClass {
  fields = 0;

  constructor(bytes: Uint8Array) {
    super(bytes);
    this.discardUnknown = true; // unknown fields are skipped, never kept (protobufjs's default, made sure of)
  }

  override tag(): number {
    if (++this.fields > MAX_FIELDS) {
      throw new FormatError(`readOnnx: the file has more than ${MAX_FIELDS} fields (at byte ${this.pos} of ${this.len}); models lstm-wasm runs have a few thousand`);
    }
    return super.tag();
  }

  override int64(): Int64 {
    return int64Value(super.int64());
  }

  override uint64(): Int64 {
    return int64Value(super.uint64());
  }
}

/** Decodes a ModelProto; wire-format errors are FormatErrors (see the module comment). */
export function decodeModelProto(bytes: Uint8Array): ModelProto {
  const reader = new BoundedReader(bytes);
  try {
    return onnxProto.ModelProto.decode(reader);
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(`readOnnx: malformed protobuf at byte ${Math.min(reader.pos, bytes.length)} of ${bytes.length}: ${describeDecodeError(e)}`);
  }
}

function describeDecodeError(e: unknown): string {
  if (e instanceof RangeError && /call stack/i.test(e.message)) return 'nested too deeply (the stack overflowed)';
  const message = e instanceof Error ? e.message : String(e);
  if (/index out of range/.test(message)) return `truncated, or a length that points past the end (${message})`;
  if (/max depth exceeded/.test(message)) return 'messages nested more than 100 deep (subgraphs within subgraphs)';
  return message;
}
