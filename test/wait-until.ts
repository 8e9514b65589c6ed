import { setTimeout as sleep } from 'node:timers/promises';

/**
 * For tests: polls `check` every `stepMs` until it holds, or throws after `ms` naming `what`.
 * One copy for every test that waits on something it cannot await.
 */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 5000,
  stepMs = 10,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(stepMs);
  }
}
