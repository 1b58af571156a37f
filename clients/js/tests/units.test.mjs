// The library's pure parts: tag matching, backoff bounds, token expiry and refresh time.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { isPattern, isValidTag, matchesPattern, tokenExpiryMs } from '../src/index.js';
import { backoffDelayMs } from '../src/backoff.js';
import { refreshDelayMs } from '../src/token.js';

test('patterns match as the server matches them', () => {
  assert.ok(matchesPattern('a.*.c', 'a.b.c'));
  assert.ok(!matchesPattern('a.*.c', 'a.b.d'));
  assert.ok(!matchesPattern('a.*', 'a.b.c'));
  assert.ok(matchesPattern('a.>', 'a.b'));
  assert.ok(matchesPattern('a.>', 'a.b.c.d'));
  assert.ok(!matchesPattern('a.>', 'a'));
  assert.ok(matchesPattern('a.b', 'a.b'));
  assert.ok(isPattern('a.*') && isPattern('>') && !isPattern('a.b'));
  assert.ok(isValidTag('chat.lobby', false));
  assert.ok(!isValidTag('chat.*', false) && isValidTag('chat.*', true));
  assert.ok(!isValidTag('a.>.b', true) && !isValidTag('a..b', true) && !isValidTag('a b', true));
  assert.ok(!isValidTag('x'.repeat(256), true) && !isValidTag('', true));
});

test('backoff has full jitter below a doubling cap', () => {
  assert.equal(backoffDelayMs(0, 500, 20000, () => 0.999999), 499);
  assert.equal(backoffDelayMs(3, 500, 20000, () => 0.5), 2000);
  assert.equal(backoffDelayMs(50, 500, 20000, () => 0.5), 10000);
  assert.equal(backoffDelayMs(5, 500, 20000, () => 0), 0);
});

test('token expiry is read from the payload; refresh happens before it', () => {
  const payload = Buffer.from(JSON.stringify({ sub: 'a', exp: 2000000000 })).toString('base64url');
  assert.equal(tokenExpiryMs(`e30.${payload}.sig`), 2000000000 * 1000);
  assert.equal(tokenExpiryMs('not-a-token'), null);
  assert.equal(tokenExpiryMs(`e30.${Buffer.from('{}').toString('base64url')}.x`), null);
  // 1 hour token: refreshed 60 s before exp; 10 s token: 5 s before; 4 s token: at half life.
  assert.equal(refreshDelayMs(0, 3600_000), 3540_000);
  assert.equal(refreshDelayMs(0, 10_000), 5_000);
  assert.equal(refreshDelayMs(0, 4_000), 2_000);
  assert.equal(refreshDelayMs(10_000, 5_000), 0);
});
