/** The recurrent-layer kernels of the JS backend, same arguments as the crate's exports. */
import type { Kernels } from '../../kernels';
import type { JsHeap } from '../heap';
import { lstmBackward, lstmCacheLen, lstmForward } from './lstm';
import { gruBackward, gruCacheLen, gruForward } from './gru';
import { rnnBackward, rnnCacheLen, rnnForward } from './elman';

type RnnKernels = Pick<Kernels,
  'lw_lstm_cache_len' | 'lw_lstm_forward' | 'lw_lstm_backward' | 'lw_gru_cache_len' | 'lw_gru_forward' |
  'lw_gru_backward' | 'lw_rnn_cache_len' | 'lw_rnn_forward' | 'lw_rnn_backward'>;

/** The crate's status (0: done); JS scratch is ordinary garbage-collected memory. */
const done = (run: () => void): number => {
  run();
  return 0;
};

export function rnnKernels(heap: JsHeap): RnnKernels {
  return {
    lw_lstm_cache_len: lstmCacheLen,
    lw_lstm_forward: (...args) => done(() => lstmForward(heap, ...args)),
    lw_lstm_backward: (...args) => done(() => lstmBackward(heap, ...args)),
    lw_gru_cache_len: gruCacheLen,
    lw_gru_forward: (...args) => done(() => gruForward(heap, ...args)),
    lw_gru_backward: (...args) => done(() => gruBackward(heap, ...args)),
    lw_rnn_cache_len: rnnCacheLen,
    lw_rnn_forward: (...args) => done(() => rnnForward(heap, ...args)),
    lw_rnn_backward: (...args) => done(() => rnnBackward(heap, ...args)),
  };
}
