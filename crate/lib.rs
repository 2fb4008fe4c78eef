//! lstm-wasm compute core: every hot loop of the library, compiled to wasm32 + SIMD128.
//!
//! Dimension alphabet used in shape comments throughout:
//! `M, N, K` matrix sizes; `B` batch, `T` time, `I` input features, `H` hidden size,
//! `G` gate width (4H for LSTM, 3H for GRU, H for RNN), `V` vocabulary, `C` embedding channels.
//!
//! `abi` holds every `extern "C"` export; the other modules are plain safe-ish Rust over slices.

pub mod abi;
pub mod budget;
pub mod decode;
pub mod gemm;
pub mod layout;
pub mod math;
pub mod ops;
pub mod optim;
pub mod quant;
pub mod rnn;
pub mod scratch;
pub mod simd;

/// In the wasm module every allocation goes through the budget (see `budget`).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: budget::Budgeted = budget::Budgeted;
