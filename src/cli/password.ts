import { CliError } from './errors.js';

/**
 * Longest line read from stdin. A password is at most PASSWORD_MAX_LENGTH (256) code points,
 * up to 4 bytes each; more than this is not a password (a file piped by mistake), and the
 * rules would refuse it anyway after we had buffered all of it.
 */
const MAX_LINE_BYTES = 4_096;

/** The stdin a password is read from: a TTY (prompt, no echo) or a pipe (first line). */
export type PasswordInput = NodeJS.ReadStream;

/**
 * Reads a new password: typed twice at a prompt without echo when `input` is a TTY, or the
 * first line of `input` otherwise (for scripts: `printf '%s\n' "$PW" | ssechat user add bob`).
 * Never from argv, where other users of the machine could read it (ps, /proc, shell history).
 */
export async function readNewPassword(
  input: PasswordInput,
  prompt: (text: string) => void,
  nick: string,
): Promise<string> {
  if (!input.isTTY) return readLine(input);
  const first = await readHidden(input, prompt, `New password for ${nick}: `);
  const again = await readHidden(input, prompt, 'Again: ');
  if (first !== again) throw new CliError('the two passwords differ; nothing was changed');
  return first;
}

/** The first line of a pipe or file, without its line ending; the rest is not read. */
function readLine(input: PasswordInput): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (err?: Error): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', done);
      // Stop reading: the rest of the pipe is not ours, and an open stdin keeps us running.
      input.destroy();
      if (err) reject(err);
      else resolve(text.replace(/\r?\n[\s\S]*$/, ''));
    };
    const onData = (chunk: string): void => {
      text += chunk;
      if (text.includes('\n')) done();
      else if (Buffer.byteLength(text) > MAX_LINE_BYTES) {
        done(new CliError(`the password line on stdin is longer than ${MAX_LINE_BYTES} bytes`));
      }
    };
    const onEnd = (): void => {
      if (text === '') done(new CliError('no password on stdin (expected it on the first line)'));
      else done();
    };
    input.setEncoding('utf8');
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('error', done);
  });
}

/**
 * Reads one line from a TTY in raw mode, echoing nothing. Backspace deletes, Ctrl-C and
 * Ctrl-D on an empty line cancel.
 */
function readHidden(
  input: PasswordInput,
  prompt: (text: string) => void,
  text: string,
): Promise<string> {
  prompt(text);
  return new Promise((resolve, reject) => {
    let chars: string[] = [];
    const finish = (err?: Error): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      prompt('\n');
      if (err) reject(err);
      else resolve(chars.join(''));
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          finish();
          return;
        }
        if (ch === '\u0003' || (ch === '\u0004' && chars.length === 0)) {
          finish(new CliError('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') chars = chars.slice(0, -1);
        else if (ch >= ' ') chars.push(ch);
      }
    };
    input.setEncoding('utf8');
    input.setRawMode(true);
    input.on('data', onData);
    input.resume();
  });
}
