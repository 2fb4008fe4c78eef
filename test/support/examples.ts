/** Running an example script of examples/ in its --quick mode, as the example tests do. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

/** `node examples/<name> --quick ...args` from the repository root; its stdout (its stderr must be empty). */
export async function runExample(name: string, args: string[] = []): Promise<string> {
  const { stdout, stderr } = await run(process.execPath, [`examples/${name}`, '--quick', ...args], { cwd: root });
  expect(stderr).toBe('');
  return stdout;
}
