// Tokens: refreshed on the open connection before `exp` (no reconnect), a provider asked
// again on reconnect, a provider that fails for a while.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Server, client, collect, connected, makeKeys, next, sleep, tempDir, waitFor } from './harness.mjs';
import { tokenExpiryMs } from '../src/index.js';

test('a token provider is called again before exp and the connection stays open', async (t) => {
  const keys = await makeKeys(tempDir(t));
  // No leeway: the server closes the connection (4001) the second exp passes.
  const server = await Server.start({ jwks: keys.jwks, args: ['--token-leeway', '0'] });
  t.after(() => server.stop('SIGKILL'));
  const tokens = [];
  const provider = async () => {
    const token = await keys.mint({ sub: 'refresher', ttl: '4s' });
    tokens.push(token);
    return token;
  };
  const c = client(t, server.url, { token: provider });
  const lost = [];
  c.on('connecting', (e) => lost.push(e));
  await connected(c);
  const conn = c.hello.conn;
  const sub = c.subscribe('chat.refresh');
  const { messages } = collect(sub);
  await sub.ready();
  const firstExp = tokenExpiryMs(tokens[0]);

  const refreshed = await next(c, 'token', 8000);
  assert.ok(refreshed.expiresAt > firstExp);
  await waitFor(() => Date.now() > firstExp + 1500, 10000);  // past the first token's exp
  assert.equal(c.state, 'connected');
  assert.deepEqual(lost, []);
  assert.equal(c.hello.conn, conn);  // the same connection
  assert.ok(tokens.length >= 2);
  await c.publish('chat.refresh', 'still here');
  await waitFor(() => messages.length === 1);
});

test('a fixed token that expires ends the connection: the client stops and says why', async (t) => {
  const keys = await makeKeys(tempDir(t));
  const server = await Server.start({ jwks: keys.jwks, args: ['--token-leeway', '0'] });
  t.after(() => server.stop('SIGKILL'));
  const token = await keys.mint({ ttl: '2s' });
  const c = client(t, server.url, { token, minReconnectDelayMs: 50, maxReconnectDelayMs: 100 });
  const errors = [];
  c.on('error', (e) => errors.push(e.code));
  await connected(c);
  const closed = await next(c, 'connecting', 8000);
  assert.equal(closed.code, 4001);
  await next(c, 'disconnected', 8000);
  assert.equal(c.state, 'disconnected');
  assert.ok(errors.includes('auth'));
});

test('a provider that fails is retried with backoff until it gives a token', async (t) => {
  const keys = await makeKeys(tempDir(t));
  const server = await Server.start({ jwks: keys.jwks });
  t.after(() => server.stop('SIGKILL'));
  let calls = 0;
  const c = client(t, server.url, {
    minReconnectDelayMs: 20,
    maxReconnectDelayMs: 100,
    token: async () => {
      calls++;
      if (calls < 3) {
        throw new Error('backend down');
      }
      return keys.mint();
    },
  });
  const errors = [];
  c.on('error', (e) => errors.push(e.code));
  await connected(c);
  assert.equal(calls, 3);
  assert.deepEqual(errors, ['auth', 'auth']);
});

test('a token refused by the server on reconnect is asked for again from the provider', async (t) => {
  const keys = await makeKeys(tempDir(t));
  const other = await makeKeys(tempDir(t));
  const server = await Server.start({ jwks: keys.jwks });
  t.after(() => server.stop('SIGKILL'));
  let calls = 0;
  const c = client(t, server.url, {
    minReconnectDelayMs: 20,
    maxReconnectDelayMs: 100,
    token: async () => (++calls === 1 ? other.mint() : keys.mint()),
  });
  await connected(c);
  assert.equal(calls, 2);
  assert.equal(c.state, 'connected');
  await sleep(10);
});
