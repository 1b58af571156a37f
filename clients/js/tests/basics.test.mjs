// Publishing and subscribing against the real server: promises, errors, patterns, since.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { WsagentError } from '../src/index.js';
import { Server, client, collect, connected, makeKeys, next, tempDir, waitFor } from './harness.mjs';

test('publish resolves with the seq the subscriber sees', async (t) => {
  const server = await Server.start();
  t.after(() => server.stop('SIGKILL'));
  const c = await connected(client(t, server.url));
  assert.equal(c.state, 'connected');
  assert.equal(typeof c.hello.conn, 'string');
  const sub = c.subscribe('chat.lobby');
  const { messages } = collect(sub);
  await sub.ready();
  const seq1 = await c.publish('chat.lobby', { text: 'one' });
  const seq2 = await c.publish('chat.lobby', 'two');
  assert.equal(seq2, seq1 + 1);
  await waitFor(() => messages.length === 2);
  assert.deepEqual(messages.map((m) => [m.seq, m.data]), [[seq1, { text: 'one' }], [seq2, 'two']]);
  assert.deepEqual(c.stats().queuedPublishes, 0);
});

test('errors: forbidden publish and subscribe carry the server code; bad tags fail locally', async (t) => {
  const dir = tempDir(t);
  const keys = await makeKeys(dir);
  const server = await Server.start({ jwks: keys.jwks });
  t.after(() => server.stop('SIGKILL'));
  const token = await keys.mint({ sub: 'bob', pub: ['chat.*'], subscribe: ['chat.>'] });
  const c = await connected(client(t, server.url, { token }));

  await assert.rejects(c.publish('news.today', 1), (e) => e instanceof WsagentError && e.code === 'forbidden');
  await assert.rejects(c.publish('chat.*', 1), (e) => e.code === 'bad_tag');
  await assert.rejects(c.publish('chat.x', undefined), (e) => e.code === 'bad_request');
  assert.throws(() => c.subscribe('chat..x'), TypeError);

  const denied = c.subscribe('news.>');
  const error = await next(denied, 'error');
  assert.equal(error.code, 'forbidden');
  assert.equal(denied.state, 'failed');
  await assert.rejects(denied.ready(), (e) => e.code === 'forbidden');
  // The connection is still good.
  assert.equal(typeof (await c.publish('chat.ok', 1)), 'number');
});

test('a pattern and an exact subscription each get a matching message once', async (t) => {
  const server = await Server.start();
  t.after(() => server.stop('SIGKILL'));
  const c = await connected(client(t, server.url));
  const exact = collect(c.subscribe('iot.d1.telemetry'));
  const pattern = collect(c.subscribe('iot.*.telemetry'));
  const deep = collect(c.subscribe('iot.>'));
  await Promise.all(c.subscriptions().map((s) => s.ready()));
  await c.publish('iot.d1.telemetry', { t: 21 });
  await c.publish('iot.d2.telemetry', { t: 22 });
  await c.publish('iot.d2.cmd', 'on');
  await waitFor(() => deep.messages.length === 3);
  assert.deepEqual(exact.messages.map((m) => m.tag), ['iot.d1.telemetry']);
  assert.deepEqual(pattern.messages.map((m) => m.tag), ['iot.d1.telemetry', 'iot.d2.telemetry']);
  assert.deepEqual(deep.messages.map((m) => m.tag), ['iot.d1.telemetry', 'iot.d2.telemetry', 'iot.d2.cmd']);
});

test('since on the first subscribe replays what was retained after it', async (t) => {
  const server = await Server.start();
  t.after(() => server.stop('SIGKILL'));
  const publisher = await connected(client(t, server.url));
  for (let i = 1; i <= 5; i++) {
    await publisher.publish('chat.history', i);
  }
  const c = await connected(client(t, server.url));
  const sub = c.subscribe('chat.history', { since: 2 });
  const { messages, gaps } = collect(sub);
  const subscribed = await next(sub, 'subscribed');
  assert.equal(subscribed.seq, 5);
  assert.equal(typeof subscribed.epoch, 'string');
  assert.equal(subscribed.recovered, true);
  await waitFor(() => messages.length === 3);
  assert.deepEqual(messages.map((m) => m.data), [3, 4, 5]);
  assert.deepEqual(gaps, []);
  assert.deepEqual(sub.position, { seq: 5, epoch: subscribed.epoch });

  // Everything retained, from the start.
  const all = collect(c.subscribe('chat.history2', { since: 0 }));
  await publisher.publish('chat.history2', 'x');
  await waitFor(() => all.messages.length === 1);
});

test('a refused token stops the client instead of retrying for ever', async (t) => {
  const dir = tempDir(t);
  const keys = await makeKeys(dir);
  const other = await makeKeys(tempDir(t));
  const server = await Server.start({ jwks: keys.jwks });
  t.after(() => server.stop('SIGKILL'));
  const token = await other.mint();  // signed by a key the server does not know
  const c = client(t, server.url, { token });
  const errors = [];
  c.on('error', (e) => errors.push(e));
  const disconnected = next(c, 'disconnected');
  c.connect();
  await disconnected;
  assert.equal(c.state, 'disconnected');
  assert.ok(errors.some((e) => e.code === 'auth'), JSON.stringify(errors.map((e) => e.message)));
});

test('a listener that throws is reported, and delivery goes on', async (t) => {
  const server = await Server.start();
  t.after(() => server.stop('SIGKILL'));
  const c = await connected(client(t, server.url));
  const errors = [];
  c.on('error', (e) => errors.push(e));
  const sub = c.subscribe('chat.throw');
  sub.on('message', () => {
    throw new Error('boom');
  });
  const { messages } = collect(sub);
  await sub.ready();
  await c.publish('chat.throw', 1);
  await c.publish('chat.throw', 2);
  await waitFor(() => messages.length === 2);
  assert.equal(errors.filter((e) => e.code === 'listener').length, 2);
  assert.equal(c.state, 'connected');
});
