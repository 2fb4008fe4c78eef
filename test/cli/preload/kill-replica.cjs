// Preloaded into a CLI child process (NODE_OPTIONS=--require): the first worker thread the process
// starts (data-parallel replica 1) is terminated from outside after KILL_REPLICA_AFTER_MS, as a
// crash of that thread would end it, while training goes on.
'use strict';
const threads = require('node:worker_threads');

if (threads.isMainThread) {
  const Original = threads.Worker;
  let started = 0;
  // lstm-wasm finds this module with process.getBuiltinModule, which returns this same object.
  threads.Worker = class extends Original {
    constructor(...args) {
      super(...args);
      if (++started === 1) setTimeout(() => void this.terminate(), Number(process.env.KILL_REPLICA_AFTER_MS ?? 2000)).unref();
    }
  };
}
