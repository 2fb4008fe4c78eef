/**
 * Bounds on what an ONNX file may declare. Each is far above what recurrent models exported by
 * torch.onnx.export use (the fixtures: at most 36 nodes, 9 initializers, a few thousand fields)
 * and low enough that a hostile file is refused in bounded time and memory. What protobuf itself
 * bounds is not repeated here: every element of a repeated field costs at least one byte of the
 * file, so counts are bounded by the file's length; these bound what that length may buy.
 */

/**
 * Fields the decoder may read (every tag: each may make one object, string or number). An empty
 * message costs the file 2 bytes and the heap a few hundred, so this bounds the heap a small file
 * can claim: about 200 MB at worst, where real files of 10^4 nodes read some 10^5 fields.
 */
export const MAX_FIELDS = 1_000_000;
/** Nodes, over the main graph and its subgraphs. */
export const MAX_NODES = 100_000;
/** Attributes of one node (torch's recurrent nodes have at most 6). */
export const MAX_ATTRIBUTES = 1_000;
/** Dimensions of a tensor or of a value's shape. */
export const MAX_RANK = 64;
/** Elements of one tensor (and the largest dimension + 1): the kernels index with 32-bit integers. */
export const MAX_ELEMENTS = 2 ** 31 - 1;
/** Subgraphs nested in attributes (If, Loop, Scan); protobufjs already stops decoding at 100 messages deep. */
export const MAX_GRAPH_DEPTH = 32;
/** The default-domain opsets the reader accepts: those torch.onnx.export writes (9..20), and two more. */
export const MIN_OPSET = 9;
export const MAX_OPSET = 22;
