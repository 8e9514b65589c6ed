/** A command that could not do its work (a taken nick, a weak password); exit code 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** A command line that names no valid command or lacks an argument; exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
