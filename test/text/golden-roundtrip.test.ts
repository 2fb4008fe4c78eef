// The golden checkpoint (test/fixtures/golden/, written by an earlier build) resumed and saved again
// at once is the same file, byte for byte: reading a trainer's state (the optimizer's through its
// state dict) and writing it back change nothing of the file format. The source is imported (not
// the package) because resuming from a checkpoint is the CLI's, not a public function.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, it } from 'vitest';
import { init } from '../../ts/init';
import { setInlinedWasm } from '../../ts/wasm/load';
import { inlinedWasm } from '../../ts/wasm/inlined';
import { decodeCheckpoint, encodeCheckpoint } from '../../ts/training/checkpoint';
import { prepareTrainingData, resumeTraining, settingsFromCheckpoint, type TextRecord } from '../../ts/training/setup';

const dir = fileURLToPath(new URL('../fixtures/golden/', import.meta.url));

// From source, as the package's entry does: init() loads the inlined wasm.
setInlinedWasm(inlinedWasm);

beforeAll(async () => {
  await init();
});

it('the golden checkpoint, resumed and saved at once, is the same bytes', () => {
  const bytes = new Uint8Array(readFileSync(join(dir, 'lm.safetensors')));
  const ck = decodeCheckpoint(bytes);
  const settings = settingsFromCheckpoint(ck);
  const record = ck.meta.extra.data as TextRecord;
  const data = prepareTrainingData(readFileSync(join(dir, 'text.txt'), 'utf8'), settings, record.sources, ck.tokenizer);
  const { model, trainer } = resumeTraining(settings, data, ck, 1);
  try {
    expect(ck.trainer!.optimizer.some((b) => b !== null), 'the fixture has optimizer state').toBe(true);
    const again = encodeCheckpoint(model, data.tokenizer, trainer, ck.meta.extra);
    expect(again.length).toBe(bytes.length);
    expect(Buffer.from(again).equals(Buffer.from(bytes)), 'byte for byte').toBe(true);
  } finally {
    trainer.dispose();
    model.dispose();
  }
});
