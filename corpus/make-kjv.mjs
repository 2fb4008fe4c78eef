#!/usr/bin/env node
// Rebuilds corpus/kjv.txt.gz from Debian's bible-kjv-text package (the text of the King James
// Version, public domain), read through that package's `bible` program:
//
//   apt-get install -y bible-kjv-text   # also installs bible-kjv, the reader
//   node corpus/make-kjv.mjs
//
// Output: plain UTF-8 text, one chapter heading ("Genesis 1") then one verse per line without its
// verse number, a blank line between chapters. Deterministic: gzip level 9, no timestamp.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const raw = execFileSync('bible', ['-m', '16384', 'gen1:1-rev22:21'], { encoding: 'utf8', maxBuffer: 64 << 20 });
const out = [];
let verse = null;
const flush = () => {
  if (verse !== null) out.push(verse.replace(/\s+/g, ' ').trim());
  verse = null;
};
for (const line of raw.split('\n')) {
  const heading = /^([1-3]? ?[A-Z][A-Za-z ]+) (\d+)$/.exec(line);
  const start = /^ {2}(\d+) (.*)$/.exec(line);
  if (heading) {
    flush();
    if (out.length > 0) out.push('');
    out.push(line.trim());
  } else if (start) {
    flush();
    verse = start[2];
  } else if (line.trim() === '') {
    flush();
  } else if (verse !== null) {
    verse += ' ' + line;
  } else {
    throw new Error(`make-kjv: unexpected line ${JSON.stringify(line)}`);
  }
}
flush();
const text = out.join('\n') + '\n';
const url = new URL('./kjv.txt.gz', import.meta.url);
writeFileSync(url, gzipSync(Buffer.from(text, 'utf8'), { level: 9 }));
console.log(`corpus/kjv.txt.gz: ${text.length} characters, ${out.filter((l) => l && !/ \d+$/.test(l)).length} verses`);
