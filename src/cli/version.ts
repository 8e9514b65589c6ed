import { readFileSync } from 'node:fs';

/**
 * ssechat's version, from its package.json. This module runs from dist/src/cli/ (the build)
 * or from src/cli/ (tsx, `npm run dev`), so the file is two or three levels up; the name
 * check keeps us from reporting some other package's version.
 */
export function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    let text: string;
    try {
      text = readFileSync(new URL(up, import.meta.url), 'utf8');
    } catch {
      continue;
    }
    const pkg = JSON.parse(text) as { name?: unknown; version?: unknown };
    if (pkg.name === 'ssechat' && typeof pkg.version === 'string') return pkg.version;
  }
  return 'unknown';
}
