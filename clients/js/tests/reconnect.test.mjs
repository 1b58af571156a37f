// Losing the connection and getting everything back: the network cut (a proxy), a silent
// dead link (pings), publishes made meanwhile, a server restart (embedded broker: a new
// epoch, so gaps), a restart with Redis (history survives: no gap, nothing lost) and a node
// draining behind a balancer (the reconnect hint).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Proxy, Server, client, collect, connected, next, sleep, startRedis, tempDir, waitFor } from './harness.mjs';

const fast = { minReconnectDelayMs: 50, maxReconnectDelayMs: 400 };

function states(c) {
  const seen = [];
  c.on('state', ({ state }) => seen.push(state));
  return seen;
}

test('after the network cuts the connection, missed messages arrive once and in order', async (t) => {
  const server = await Server.start();
  t.after(() => server.stop('SIGKILL'));
  const proxy = await Proxy.start(t, server.port);
  const c = await connected(client(t, proxy.url, fast));
  const publisher = await connected(client(t, server.url));
  const sub = c.subscribe('chat.room');
  const { messages, gaps } = collect(sub);
  await sub.ready();
  await publisher.publish('chat.room', 1);
  await publisher.publish('chat.room', 2);
  await waitFor(() => messages.length === 2);

  const seen = states(c);
  proxy.set('refuse');  // cut, and keep the client out while others publish
  await next(c, 'connecting');
  for (let i = 3; i <= 7; i++) {
    await publisher.publish('chat.room', i);
  }
  await sleep(300);  // a few refused attempts
  proxy.set('forward');
  const again = await next(c, 'connected');
  assert.equal(again.reconnected, true);
  await publisher.publish('chat.room', 8);
  await waitFor(() => messages.length === 8, 10000, () => JSON.stringify(messages.map((m) => m.data)));
  await sleep(200);
  assert.deepEqual(messages.map((m) => m.data), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(messages.map((m) => m.seq), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(gaps, []);
  assert.equal(seen[0], 'connecting');
  assert.equal(seen.at(-1), 'connected');
  assert.ok(proxy.accepted >= 2);
});

test('publishes made while disconnected wait in the queue and are sent after reconnecting', async (t) => {
  const server = await Server.start();
  t.after(() => server.stop('SIGKILL'));
  const proxy = await Proxy.start(t, server.port);
  const c = await connected(client(t, proxy.url, fast));
  const reader = await connected(client(t, server.url));
  const { messages } = collect(reader.subscribe('chat.queue'));
  await reader.getSubscription('chat.queue').ready();

  proxy.set('refuse');
  await next(c, 'connecting');
  const pending = [c.publish('chat.queue', 'a'), c.publish('chat.queue', 'b'), c.publish('chat.queue', 'c')];
  assert.equal(c.stats().queuedPublishes, 3);
  await sleep(200);
  proxy.set('forward');
  const seqs = await Promise.all(pending);
  assert.deepEqual(seqs, [1, 2, 3]);
  await waitFor(() => messages.length === 3);
  assert.deepEqual(messages.map((m) => m.data), ['a', 'b', 'c']);
  assert.equal(c.stats().queuedPublishes, 0);
});

test('a publish lost on a dead link is sent again on the next connection', async (t) => {
  const server = await Server.start();
  t.after(() => server.stop('SIGKILL'));
  const proxy = await Proxy.start(t, server.port);
  const c = await connected(client(t, proxy.url, { ...fast, pingIntervalMs: 300, pongTimeoutMs: 300 }));
  const reader = await connected(client(t, server.url));
  const { messages } = collect(reader.subscribe('chat.retry'));
  await reader.getSubscription('chat.retry').ready();

  proxy.set('silence');  // the bytes go nowhere and nothing says so
  const published = c.publish('chat.retry', 'survivor');
  const lost = await next(c, 'connecting');  // found dead by the client's ping
  assert.equal(lost.code, 4000);
  assert.match(lost.reason, /ping/);
  assert.equal(c.stats().queuedPublishes, 1);
  proxy.set('forward');
  const seq = await published;
  assert.equal(seq, 1);
  await waitFor(() => messages.length === 1);
  await sleep(200);
  assert.deepEqual(messages.map((m) => m.data), ['survivor']);
});

test('after an embedded-broker restart the new epoch is reported as a gap and new messages flow', async (t) => {
  const first = await Server.start();
  t.after(() => first.stop('SIGKILL'));
  const c = await connected(client(t, first.url, fast));
  const sub = c.subscribe('chat.epoch');
  const { messages, gaps } = collect(sub);
  const before = await next(sub, 'subscribed');
  for (let i = 1; i <= 3; i++) {
    await c.publish('chat.epoch', i);
  }
  await waitFor(() => messages.length === 3);

  const lost = next(c, 'connecting');
  await first.stop('SIGTERM');
  assert.equal((await lost).code, 1001);  // the server drained
  // Listen first: the client may be back before Server.start has read the server's log.
  const resubscribed = next(sub, 'subscribed', 15000);
  const second = await Server.start({ port: first.port });
  t.after(() => second.stop('SIGKILL'));
  const after = await resubscribed;
  assert.equal(after.resubscribed, true);
  assert.notEqual(after.epoch, before.epoch);
  await waitFor(() => gaps.length === 1);
  assert.equal(gaps[0].tag, 'chat.epoch');

  // The new life of the tag numbers from 1 again: those messages are new, not duplicates.
  assert.equal(await c.publish('chat.epoch', 'new'), 1);
  await waitFor(() => messages.length === 4);
  assert.deepEqual(messages.at(-1).data, 'new');
  assert.deepEqual(sub.position, { seq: 1, epoch: after.epoch });
});

test('with Redis, messages published while a node was down are recovered without a gap', async (t) => {
  const dir = tempDir(t);
  const redis = await startRedis(t, dir);
  const broker = ['--broker', redis.url];
  const nodeA = await Server.start({ args: broker });
  t.after(() => nodeA.stop('SIGKILL'));
  const nodeB = await Server.start({ args: broker });
  t.after(() => nodeB.stop('SIGKILL'));
  const c = await connected(client(t, nodeA.url, fast));
  const sub = c.subscribe('chat.durable');
  const { messages, gaps } = collect(sub);
  const before = await next(sub, 'subscribed');
  const publisher = await connected(client(t, nodeB.url));
  await publisher.publish('chat.durable', 1);
  await waitFor(() => messages.length === 1);

  const lost = next(c, 'connecting');
  await nodeA.stop('SIGKILL');  // no drain: the node just dies
  await lost;
  for (let i = 2; i <= 6; i++) {
    await publisher.publish('chat.durable', i);
  }
  const resubscribed = next(sub, 'subscribed', 15000);
  const nodeA2 = await Server.start({ port: nodeA.port, args: broker });
  t.after(() => nodeA2.stop('SIGKILL'));
  const after = await resubscribed;
  assert.equal(after.epoch, before.epoch);
  assert.equal(after.recovered, true);
  await publisher.publish('chat.durable', 7);
  await waitFor(() => messages.length === 7, 10000, () => JSON.stringify(messages.map((m) => m.data)));
  await sleep(200);
  assert.deepEqual(messages.map((m) => m.data), [1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(gaps, []);
});

test('a draining node: the client reconnects within the time it was given, through the balancer to another node', async (t) => {
  const first = await Server.start({ args: ['--node-id', 'first', '--drain-spread', '500ms'] });
  t.after(() => first.stop('SIGKILL'));
  const second = await Server.start({ args: ['--node-id', 'second'] });
  t.after(() => second.stop('SIGKILL'));
  const balancer = await Proxy.start(t, first.port);
  const c = await connected(client(t, balancer.url, { minReconnectDelayMs: 60000, maxReconnectDelayMs: 60000 }));
  const hints = [];
  c.on('draining', (d) => {
    hints.push(d);
    balancer.retarget(second.port);  // the balancer takes the draining node out
  });
  const lost = next(c, 'connecting');
  const reconnected = next(c, 'connected', 20000);
  const stopped = first.stop('SIGTERM');
  const { delayMs } = await lost;
  assert.deepEqual(hints, [{ withinMs: 500 }], 'the server sends {"op":"reconnect","within_ms":500} before 1001');
  assert.ok(delayMs <= hints[0].withinMs, `waited ${delayMs} ms, server asked for at most ${hints[0].withinMs}`);
  // Without the hint the next attempt would wait up to a minute (backoff).
  assert.equal((await reconnected).hello.node, 'second');
  await stopped;
});
