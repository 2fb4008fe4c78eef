// Preloaded into a CLI child process (NODE_OPTIONS=--require): the process dies hard (SIGKILL) in
// the middle of its first write of a temporary `*.tmp` file, with half the bytes written: a crash
// mid-save, which must leave the previous checkpoint whole.
'use strict';
const fs = require('node:fs');
const { syncBuiltinESMExports } = require('node:module');

const tempFds = new Set();
const openSync = fs.openSync;
const writeSync = fs.writeSync;
fs.openSync = function (path, ...rest) {
  const fd = openSync.call(this, path, ...rest);
  if (String(path).endsWith('.tmp')) tempFds.add(fd);
  return fd;
};
fs.writeSync = function (fd, buffer, offset, length, ...rest) {
  if (!tempFds.has(fd) || !ArrayBuffer.isView(buffer)) return writeSync.call(this, fd, buffer, offset, length, ...rest);
  const half = buffer.byteLength >> 1;
  const from = offset ?? 0;
  if (from < half) writeSync.call(this, fd, buffer, from, half - from);
  process.kill(process.pid, 'SIGKILL');
  return 0;
};
// dist/cli.js is ESM and imports { openSync, writeSync } from 'node:fs': update those bindings too.
syncBuiltinESMExports();
