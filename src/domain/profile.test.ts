import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatError } from './errors.js';
import { avatarPath, foldAscii, MAX_DISPLAY_NAME, parseDisplayName } from './profile.js';

const refused = (raw: unknown) =>
  assert.throws(
    () => parseDisplayName(raw),
    (e: unknown) => e instanceof ChatError && e.code === 'CHAT_PROFILE_INVALID',
    JSON.stringify(raw),
  );

test('a display name is NFC, trimmed and 1 to 64 code points', () => {
  assert.equal(parseDisplayName('  Zoë  '), 'Zoë');
  assert.equal(parseDisplayName('Zoe\u0308'), 'Zo\u00eb');
  assert.equal(parseDisplayName('😀'.repeat(MAX_DISPLAY_NAME)), '😀'.repeat(64));
  assert.equal(parseDisplayName('مريم'), 'مريم');
  refused('😀'.repeat(MAX_DISPLAY_NAME + 1));
  refused('');
  refused(' \t ');
  refused(null);
  refused(5);
});

test('control, format and invisible characters are refused', () => {
  for (const c of [
    '\u202E',
    '\u2066',
    '\u200B',
    '\u200D',
    '\u00AD',
    '\u2028',
    '\u0000',
    '\n',
    '\uE000',
    '\u2800',
    '\u3164',
  ]) {
    refused(`a${c}b`);
  }
});

test('avatar paths and folded nicks', () => {
  assert.equal(avatarPath('Ann', 'x_y-z'), '/api/v1/users/Ann/avatar?v=x_y-z');
  assert.equal(foldAscii('ÄnN'), 'Änn');
});
