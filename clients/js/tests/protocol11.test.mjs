// Protocol 1.1 features, each used only when the server lists it in hello.features. Until
// the server implements one, its tests are skipped with that reason (they run by
// themselves once the feature appears in `hello`).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Proxy, Server, client, collect, connected, next, serverFeatures, sleep, startRedis, tempDir,
  waitFor } from './harness.mjs';

const probe = await Server.start();
const features = await serverFeatures(probe.url);
await probe.stop('SIGKILL');

function needs(...names) {
  const missing = names.filter((n) => !features.has(n));
  return missing.length === 0 ? false
    : `the server does not list ${missing.join(', ')} in hello.features yet (protocol 1.1)`;
}

const fast = { minReconnectDelayMs: 50, maxReconnectDelayMs: 400 };

test('without presence the client does not ask for it and still works', { skip: features.has('presence') && 'the server offers presence' }, async (t) => {
  const server = await Server.start();
  t.after(() => server.stop('SIGKILL'));
  const c = await connected(client(t, server.url));
  const sub = c.subscribe('room.a', { presence: true });
  const { messages } = collect(sub);
  await sub.ready();
  await c.publish('room.a', 1);
  await waitFor(() => messages.length === 1);
  await assert.rejects(sub.presence(), (e) => e.code === 'unsupported');
});

test('without latest a subscription asking for it gets every message', { skip: features.has('latest') && 'the server offers latest' }, async (t) => {
  const server = await Server.start();
  t.after(() => server.stop('SIGKILL'));
  const c = await connected(client(t, server.url));
  const sub = c.subscribe('room.a', { mode: 'latest', intervalMs: 100 });
  const { messages } = collect(sub);
  await sub.ready();
  await c.publish('room.a', 1);
  await c.publish('room.a', 2);
  await waitFor(() => messages.length === 2);  // every message: no conflation without the feature
});

test('ts: messages carry the publish time', { skip: needs('ts') }, async (t) => {
  const server = await Server.start();
  t.after(() => server.stop('SIGKILL'));
  const c = await connected(client(t, server.url));
  const { messages } = collect(c.subscribe('time.a'));
  await c.getSubscription('time.a').ready();
  const before = Date.now();
  await c.publish('time.a', 1);
  await waitFor(() => messages.length === 1);
  assert.equal(typeof messages[0].ts, 'number');
  assert.ok(Math.abs(messages[0].ts - before) < 60000);
});

test('idem: a publish whose ok was lost is sent again and published once', { skip: needs('idem') }, async (t) => {
  const server = await Server.start();
  t.after(() => server.stop('SIGKILL'));
  const proxy = await Proxy.start(t, server.port);
  const c = await connected(client(t, proxy.url, { ...fast, pingIntervalMs: 300, pongTimeoutMs: 300 }));
  const reader = await connected(client(t, server.url));
  const { messages } = collect(reader.subscribe('idem.a'));
  await reader.getSubscription('idem.a').ready();
  const lost = next(c, 'connecting');
  proxy.set('deafen');  // the publish reaches the server; its ok does not come back
  const published = c.publish('idem.a', 'once');
  await waitFor(() => messages.length === 1);
  await lost;
  proxy.set('forward');
  assert.equal(await published, messages[0].seq);
  await sleep(300);
  assert.equal(messages.length, 1);
});

test('presence: join and leave events, and who is there', { skip: needs('presence') }, async (t) => {
  const server = await Server.start();
  t.after(() => server.stop('SIGKILL'));
  const a = await connected(client(t, server.url));
  const subA = a.subscribe('chat.presence', { presence: true });
  await subA.ready();
  const joined = next(subA, 'join');
  const b = await connected(client(t, server.url));
  await b.subscribe('chat.presence', { presence: true }).ready();
  assert.equal((await joined).who.conn, b.hello.conn);
  const list = await subA.presence();
  assert.equal(list.count, 2);
  const bConn = b.hello.conn;
  const left = next(subA, 'leave');
  b.close();
  assert.equal((await left).who.conn, bConn);
});

test('latest: a conflated subscription gets the newest value, not every value', { skip: needs('latest') }, async (t) => {
  const server = await Server.start();
  t.after(() => server.stop('SIGKILL'));
  const c = await connected(client(t, server.url));
  const sub = c.subscribe('board.temp', { mode: 'latest', intervalMs: 200 });
  const { messages } = collect(sub);
  await sub.ready();
  for (let i = 1; i <= 100; i++) {
    c.publish('board.temp', i);
  }
  await waitFor(() => messages.length > 0 && messages.at(-1).data === 100, 5000);
  assert.ok(messages.length < 100, `${messages.length} messages`);
});

/** `c` subscribed to `pattern` through a proxy (to cut it), `publisher` directly. */
async function patternBehindProxy(t, pattern) {
  const server = await Server.start();
  t.after(() => server.stop('SIGKILL'));
  const proxy = await Proxy.start(t, server.port);
  const c = await connected(client(t, proxy.url, fast));
  const sub = c.subscribe(pattern);
  const { messages, gaps } = collect(sub);
  await sub.ready();
  const publisher = await connected(client(t, server.url));
  return { proxy, c, sub, messages, gaps, publisher };
}

test('pattern-since: a pattern subscription recovers what it missed while disconnected', { skip: needs('pattern-since') }, async (t) => {
  const { proxy, c, messages, gaps, publisher } = await patternBehindProxy(t, 'sensors.>');
  await publisher.publish('sensors.a.t', 1);
  await waitFor(() => messages.length === 1);
  proxy.set('refuse');
  await next(c, 'connecting');
  await publisher.publish('sensors.a.t', 2);
  await publisher.publish('sensors.b.t', 3);
  await publisher.publish('sensors.c.t', 4);
  proxy.set('forward');
  await waitFor(() => messages.length === 4, 10000, () => JSON.stringify(messages.map((m) => m.data)));
  await sleep(200);
  assert.deepEqual(messages.map((m) => m.data).sort(), [1, 2, 3, 4]);
  assert.deepEqual(gaps, []);
});

test('pattern-since: reconnecting again and again with nothing new brings no duplicates', { skip: needs('pattern-since') }, async (t) => {
  const { proxy, c, sub, messages, gaps, publisher } = await patternBehindProxy(t, 'meters.>');
  await publisher.publish('meters.a', 'a1');
  await publisher.publish('meters.b', 'b1');
  await waitFor(() => messages.length === 2);
  for (let i = 0; i < 3; i++) {
    proxy.set('refuse');
    await next(c, 'connecting');
    const resubscribed = next(sub, 'subscribed');
    proxy.set('forward');
    await resubscribed;
  }
  await publisher.publish('meters.a', 'a2');
  await waitFor(() => messages.some((m) => m.data === 'a2'));
  assert.deepEqual(messages.map((m) => m.data), ['a1', 'b1', 'a2']);
  assert.deepEqual(gaps, []);
});

test('pattern-since: after a server restart (new numbering) a pattern gets the new messages', { skip: needs('pattern-since') }, async (t) => {
  let server = await Server.start();
  t.after(() => server.stop('SIGKILL'));
  const c = await connected(client(t, server.url, fast));
  const sub = c.subscribe('meters.>');
  const { messages } = collect(sub);
  await sub.ready();
  const publisher = await connected(client(t, server.url, fast));
  for (let i = 1; i <= 3; i++) await publisher.publish('meters.a', `old ${i}`);
  await waitFor(() => messages.length === 3);
  const { port } = server;
  await server.stop('SIGKILL');  // the embedded broker's history and numbering are gone
  const resubscribed = next(sub, 'subscribed');
  server = await Server.start({ port });
  await resubscribed;
  await publisher.publish('meters.a', 'new');  // seq 1 again, under another epoch
  await waitFor(() => messages.some((m) => m.data === 'new'), 10000,
    () => JSON.stringify(messages.map((m) => [m.seq, m.data])));
  assert.deepEqual(messages.map((m) => m.data), ['old 1', 'old 2', 'old 3', 'new']);
});

/**
 * Two nodes on one Redis: `c` subscribed to `tag` on node A, `publisher` on node B.
 * `restartRedis()` restarts Redis without persistence (every tag starts again).
 */
async function twoNodesOnRedis(t, tag) {
  const redis = await startRedis(t, tempDir(t));
  const nodes = [];
  for (let i = 0; i < 2; i++) {
    const node = await Server.start({ args: ['--broker', redis.url] });
    t.after(() => node.stop('SIGKILL'));
    nodes.push(node);
  }
  const c = await connected(client(t, nodes[0].url, fast));
  const sub = c.subscribe(tag);
  await sub.ready();
  const publisher = await connected(client(t, nodes[1].url, fast));
  return { sub, publisher, restartRedis: () => redis.restart() };
}

/** Publishes, retrying while node B is not back on Redis yet (unavailable); false if never. */
async function publishOnceBack(publisher, tag, data) {
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    try {
      await publisher.publish(tag, data);
      return true;
    } catch {
      await sleep(50);
    }
  }
  return false;
}

test('gap notices: a pattern subscription recovers what its node missed while Redis was away', { skip: needs('gap', 'pattern-since') }, async (t) => {
  const { sub, publisher, restartRedis } = await twoNodesOnRedis(t, 'sensors.>');
  const { messages } = collect(sub);
  await publisher.publish('sensors.x.t', 'before');
  await waitFor(() => messages.length === 1);
  await restartRedis();  // both nodes lose their links and their pattern subscriptions
  for (let i = 0; i < 3; i++) {
    assert.ok(await publishOnceBack(publisher, `sensors.y${i}.t`, i), 'node B never published after the Redis restart');
  }
  await waitFor(() => [0, 1, 2].every((i) => messages.some((m) => m.data === i)), 15000,
    () => `got ${JSON.stringify(messages.map((m) => m.data))}`);
});

test('gap notices: an exact subscription goes on after Redis lost the tag (new numbering)', { skip: needs('gap') }, async (t) => {
  const { sub, publisher, restartRedis } = await twoNodesOnRedis(t, 'room.x');
  const { messages, gaps } = collect(sub);
  for (let i = 1; i <= 3; i++) await publisher.publish('room.x', `old ${i}`);
  await waitFor(() => messages.length === 3);
  await restartRedis();  // without persistence: room.x starts again at seq 1, another epoch
  // seq 1 of the new numbering: not a duplicate of 'old 1'
  assert.ok(await publishOnceBack(publisher, 'room.x', 'new'), 'node B never published after the Redis restart');
  await waitFor(() => messages.some((m) => m.data === 'new'), 15000,
    () => `got ${JSON.stringify(messages.map((m) => [m.seq, m.data]))}, gaps ${JSON.stringify(gaps.map((g) => g.reason))}`);
});

test('without pattern-since, a pattern subscription reports a gap after reconnecting', { skip: features.has('pattern-since') && 'the server recovers patterns' }, async (t) => {
  const server = await Server.start();
  t.after(() => server.stop('SIGKILL'));
  const proxy = await Proxy.start(t, server.port);
  const c = await connected(client(t, proxy.url, fast));
  const sub = c.subscribe('sensors.>');
  const { gaps } = collect(sub);
  await sub.ready();
  proxy.set('refuse');
  await next(c, 'connecting');
  proxy.set('forward');
  await next(sub, 'subscribed');
  assert.deepEqual(gaps.map((g) => [g.tag, g.reason]), [['sensors.>', 'pattern_recovery_unsupported']]);
});
