import { readFileSync } from 'node:fs';
import { OPTIONS, type Options } from './config-options.js';

/** Thrown for a bad flag, value or config file; the message names the setting. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Largest config file read. It holds one short value per option; a bigger file is a mistake
 * (a database, a log) and reading it whole would only waste memory before failing.
 */
const MAX_FILE_BYTES = 1_048_576;

/** A value read from a config file, still raw, and how errors name where it came from. */
export interface FileValue {
  readonly raw: string;
  readonly source: string;
}

/**
 * Reads a JSON config file: one object whose keys are flag names without the leading dashes
 * (`"port": 8001`, `"send-limit-user": "50,1000"`). Numbers and strings are accepted and
 * returned as the text a flag would carry, so the option's own parser validates them later.
 * Throws ConfigError naming the file, and the key when one is at fault.
 */
export function readConfigFile(path: string): Map<keyof Options, FileValue> {
  let text: string;
  try {
    const bytes = readFileSync(path);
    if (bytes.length > MAX_FILE_BYTES) throw new Error(`larger than ${MAX_FILE_BYTES} bytes`);
    text = bytes.toString('utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError(`config file ${path} must hold one JSON object of settings`);
  }
  const byName = new Map<string, keyof Options>();
  for (const key of Object.keys(OPTIONS) as (keyof Options)[]) {
    byName.set(OPTIONS[key].flag.slice(2), key);
  }
  const values = new Map<keyof Options, FileValue>();
  for (const [name, value] of Object.entries(data)) {
    const key = byName.get(name);
    if (key === undefined) {
      throw new ConfigError(
        `unknown key "${name}" in config file ${path}; keys are flag names without the dashes, like "port" or "max-queue-bytes"`,
      );
    }
    const source = `"${name}" in config file ${path}`;
    if (typeof value === 'number' && Number.isFinite(value)) {
      values.set(key, { raw: String(value), source });
    } else if (typeof value === 'string') {
      values.set(key, { raw: value, source });
    } else {
      throw new ConfigError(`invalid ${source}: must be a number or a string`);
    }
  }
  return values;
}
