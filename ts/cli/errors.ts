/** Errors the CLI reports as one line (no stack) with an exit code. */

/** A problem with the user's input: flags, files, checkpoints. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** A wrong command line: unknown flag, bad value (exit code 2, as most CLIs). */
export class UsageError extends CliError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, 2);
  }
}
