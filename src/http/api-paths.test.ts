import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatError } from '../domain/errors.js';
import { decodeSegment } from './api-paths.js';

test('decodeSegment decodes once, and dots escaped twice once more', () => {
  assert.equal(decodeSegment('alice'), 'alice');
  assert.equal(decodeSegment('Zo%C3%AB'), 'Zoë');
  assert.equal(decodeSegment('...'), '...');
  // What a browser cannot send as . or .. (the URL parser drops such segments).
  assert.equal(decodeSegment('%252E'), '.');
  assert.equal(decodeSegment('%252e%252E'), '..');
  assert.equal(decodeSegment('%252E%252E%252E'), '...');
  // Anything else with a % after one decoding stays as it is (and is no valid name).
  assert.equal(decodeSegment('%2541'), '%41');
  assert.equal(decodeSegment('%252E%2541'), '%2E%41');
  assert.equal(decodeSegment('%252E.'), '%2E.');
  assert.throws(
    () => decodeSegment('%E2%80'),
    (e: unknown) => e instanceof ChatError,
  );
});
