import { type Config, defaultText, OPTIONS, type Options } from './config-options.js';

/** What a redacted secret reads as. */
export const REDACTED = '[redacted]';

/** Options whose whole value is a secret; `none` (unset) is shown as it is. */
const SECRET_OPTIONS: readonly (keyof Options)[] = ['webhookSecret', 'metricsToken'];
/** Options that are connection URLs, whose password (and `?password=`) is a secret. */
const URL_OPTIONS: readonly (keyof Options)[] = ['databaseUrl', 'redisUrl'];

/**
 * The effective config as a config file would hold it (keys are flag names without the
 * dashes, numbers as numbers, lists and rate limits as their flag text), with every secret
 * replaced by REDACTED, so that it can be shown to a person or pasted into a bug report.
 */
export function redactedConfig(config: Config): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const key of Object.keys(OPTIONS) as (keyof Options)[]) {
    const value = config[key];
    let shown: string | number = typeof value === 'number' ? value : defaultText(value);
    // An empty list reads as "(none)" in docs; a file wants the empty string.
    if (Array.isArray(value) && value.length === 0) shown = '';
    if (SECRET_OPTIONS.includes(key) && shown !== 'none') shown = REDACTED;
    if (URL_OPTIONS.includes(key)) shown = redactUrl(String(shown));
    out[OPTIONS[key].flag.slice(2)] = shown;
  }
  return out;
}

/**
 * A connection URL without its password: `postgres://me:secret@db/chat` becomes
 * `postgres://me:[redacted]@db/chat`, and a `password` query parameter (libpq reads one) is
 * redacted too. A URL that does not parse is hidden whole after its scheme, since it could
 * hold a password that the parser did not recognize.
 */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(raw)?.[0];
    return scheme === undefined ? REDACTED : `${scheme}${REDACTED}`;
  }
  if (url.password !== '') url.password = REDACTED;
  for (const name of [...url.searchParams.keys()]) {
    if (name.toLowerCase() === 'password') url.searchParams.set(name, REDACTED);
  }
  // The URL class percent-encodes the brackets; show the marker as it is spelled elsewhere.
  return url.toString().replaceAll(encodeURIComponent(REDACTED), REDACTED);
}
