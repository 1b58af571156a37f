// Bad input from the network: a server (or something in between) that sends what the
// protocol never does. The real server cannot be made to, so a small npm `ws` server plays
// it. The client must report problems as `error` events, never throw from a network
// callback, keep its state, and go on delivering good messages.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebSocketServer } from 'ws';

import { client, collect, connected, waitFor } from './harness.mjs';

/** A server speaking just enough protocol; `onRequest(ws, frame)` answers each request. */
async function startFakeServer(t, onRequest) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  t.after(() => new Promise((resolve) => {
    for (const ws of wss.clients) ws.terminate();
    wss.close(resolve);
  }));
  wss.on('connection', (ws) => {
    ws.send(JSON.stringify({ op: 'hello', node: 'fake', conn: 'c-1', version: '0.1.0' }));
    ws.on('message', (data) => onRequest(ws, JSON.parse(String(data))));
  });
  return `ws://127.0.0.1:${wss.address().port}/ws`;
}

test('malformed frames from the server become error events; good ones still arrive', { timeout: 30000 }, async (t) => {
  const junk = [
    'not json', '', '[1,2]', 'null', '42', '"text"', '{"op":42}', '{"op":"msg"}',
    '{"op":"msg","tag":"room.a","seq":"7","data":1}', '{"op":"msg","tag":["room.a"],"seq":7}',
    '{"op":"ok","id":999,"seq":1}', '{"op":"err","id":"x"}', '{"op":"err"}',
    '{"op":"join","tag":{"a":1},"who":5}', '{"op":"leave","tag":"room.a","who":null}',
    '{"op":"gap","tags":"room.a"}', '{"op":"gap","tags":[1,null,{}]}',
    '{"op":"reconnect","within_ms":"soon"}', '{"op":"reconnect","within_ms":-5}',
    '{"op":"unknown-op","x":1}', '{"op":"hello","features":"all"}',
  ];
  let subRequests = 0;
  const url = await startFakeServer(t, (ws, frame) => {
    if (frame.op === 'sub') {
      subRequests++;
      // An ok whose fields have the wrong types, then the junk, then a good message.
      ws.send(JSON.stringify({ op: 'ok', id: frame.id, seq: 'top', epoch: [1], gaps: { a: 1 } }));
      for (const text of junk) ws.send(text);
      ws.send(Buffer.from([0xff, 0x00, 0x81]), { binary: true });
      ws.send(JSON.stringify({ op: 'msg', tag: 'room.a', seq: 8, data: 'good' }));
    } else if (frame.op === 'pub') {
      ws.send(JSON.stringify({ op: 'ok', id: frame.id, seq: 9 }));
    }
  });
  const c = await connected(client(t, url));
  const errors = [];
  c.on('error', (e) => errors.push(e));
  const sub = c.subscribe('room.a');
  const { messages } = collect(sub);
  await sub.ready();
  await waitFor(() => messages.length === 1);
  assert.deepEqual(messages.map((m) => [m.seq, m.data]), [[8, 'good']]);
  assert.ok(errors.some((e) => e.code === 'bad_frame'), JSON.stringify(errors.map((e) => e.message)));
  assert.equal(c.state, 'connected');
  assert.equal(await c.publish('room.a', 'still works'), 9);
  assert.equal(subRequests, 1, 'a second hello must not make the client subscribe again');
});
