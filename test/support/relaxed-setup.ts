// Setup of the `relaxed` project (vitest.config.ts): each suite runs on the relaxed-SIMD build.
// init() asks for it by name, so a Node that cannot run relaxed SIMD fails here, never falls back
// to the SIMD128 build in silence; the suites' own init() calls then return at once.
import { init } from 'lstm-wasm';

await init({ simd: 'relaxed' });
