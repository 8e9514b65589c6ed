import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageRate, RATE_STEP_MS, RATE_WINDOW_MS } from './message-rate.js';
import { Stats } from './stats.js';

test('messagesPerMinute counts both doors over the last minute, to a step', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const stats = new Stats();
  const rate = new MessageRate(stats);
  try {
    stats.messagesIn.api += 3;
    stats.messagesIn.classic += 2;
    assert.equal(rate.perMinute(), 5);
    t.mock.timers.tick(RATE_WINDOW_MS - RATE_STEP_MS);
    stats.messagesIn.api += 1;
    assert.equal(rate.perMinute(), 6);
    // A minute and a step later, the first five are out of the window.
    t.mock.timers.tick(2 * RATE_STEP_MS);
    assert.equal(rate.perMinute(), 1);
    t.mock.timers.tick(RATE_WINDOW_MS + RATE_STEP_MS);
    assert.equal(rate.perMinute(), 0);
  } finally {
    rate.stop();
  }
});
