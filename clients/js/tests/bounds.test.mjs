// Memory stays bounded whatever the application or the network does: the publish queue
// (count and bytes), message size, per-pattern positions; oversized messages do not loop.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Server, client, collect, connected, freePort, next, waitFor } from './harness.mjs';

test('the publish queue is bounded by count and by bytes; close() rejects what waits', async (t) => {
  const port = await freePort();  // nobody listens: the client keeps retrying
  const c = client(t, `ws://127.0.0.1:${port}/ws`, { maxQueuedPublishes: 3, maxQueuedBytes: 1000,
    minReconnectDelayMs: 50, maxReconnectDelayMs: 100 });
  c.connect();
  const waiting = [c.publish('a.b', 1), c.publish('a.b', 2)];
  await assert.rejects(c.publish('a.b', 'x'.repeat(900)), (e) => e.code === 'queue_full');
  waiting.push(c.publish('a.b', 3));
  await assert.rejects(c.publish('a.b', 4), (e) => e.code === 'queue_full');
  assert.equal(c.stats().queuedPublishes, 3);
  assert.ok(c.stats().queuedBytes <= 1000);
  c.close();
  for (const p of waiting) {
    await assert.rejects(p, (e) => e.code === 'closed');
  }
  assert.equal(c.stats().queuedPublishes, 0);
});

test('a publish larger than maxMessageBytes is refused before it is sent', async (t) => {
  const server = await Server.start();
  t.after(() => server.stop('SIGKILL'));
  const c = await connected(client(t, server.url, { maxMessageBytes: 1024 }));
  await assert.rejects(c.publish('a.b', 'x'.repeat(2000)), (e) => e.code === 'too_large');
  assert.equal(typeof (await c.publish('a.b', 'small')), 'number');
});

test('a message the server finds too large (1009) is rejected once, not resent for ever', async (t) => {
  const server = await Server.start({ args: ['--max-message-bytes', '1KiB'] });
  t.after(() => server.stop('SIGKILL'));
  const c = await connected(client(t, server.url, { maxMessageBytes: 1 << 20, minReconnectDelayMs: 20,
    maxReconnectDelayMs: 50 }));
  const big = c.publish('a.b', 'x'.repeat(4000));
  await assert.rejects(big, (e) => e.code === 'too_large');
  await next(c, 'connected');
  assert.equal(typeof (await c.publish('a.b', 'fine')), 'number');
  assert.equal(c.stats().queuedPublishes, 0);
});

test('a pattern subscription remembers at most maxTrackedTags positions', async (t) => {
  const server = await Server.start();
  t.after(() => server.stop('SIGKILL'));
  const c = await connected(client(t, server.url, { maxTrackedTags: 10 }));
  const sub = c.subscribe('iot.>');
  const { messages } = collect(sub);
  await sub.ready();
  const publisher = await connected(client(t, server.url));
  await Promise.all(Array.from({ length: 200 }, (_, i) => publisher.publish(`iot.d${i}.telemetry`, i)));
  await waitFor(() => messages.length === 200);
  assert.equal(sub.trackedTags, 10);
  assert.equal(c.stats().trackedTags, 10);
  assert.equal(c.stats().pendingRequests, 0);
});
