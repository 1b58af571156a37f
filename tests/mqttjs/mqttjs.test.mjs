// MQTT.js (npm `mqtt`, a client nobody here wrote) against the real server: over TCP
// (--mqtt-listen) and over WebSocket (/mqtt with --mqtt-ws), MQTT 3.1.1 and 5.0, QoS 0/1/2,
// and a message from a WebSocket v1 client reaching an MQTT.js subscriber (docs/mqtt.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import mqtt from 'mqtt';
import WebSocket from 'ws';

import { Server } from '../../clients/js/tests/harness.mjs';

async function startServer(t) {
  const server = await Server.start({ args: ['--no-auth', '--mqtt-listen', '127.0.0.1:0', '--mqtt-ws'] });
  t.after(() => server.stop());
  const match = / mqtt=127\.0\.0\.1:(\d+)/.exec(server.log);
  assert.ok(match, `no mqtt= in the listening line: ${server.log}`);
  server.mqttPort = Number(match[1]);
  return server;
}

function connect(t, url, options) {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 10000, ...options });
  t.after(() => client.end(true));
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

function nextMessages(client, count) {
  const got = [];
  return new Promise((resolve) => {
    client.on('message', (topic, payload, packet) => {
      got.push({ topic, payload: payload.toString(), qos: packet.qos });
      if (got.length === count) resolve(got);
    });
  });
}

for (const transport of ['tcp', 'ws']) {
  for (const protocolVersion of [4, 5]) {
    test(`MQTT.js over ${transport}, protocol ${protocolVersion}: QoS 0, 1 and 2`, async (t) => {
      const server = await startServer(t);
      const url = transport === 'tcp' ? `mqtt://127.0.0.1:${server.mqttPort}`
        : `ws://127.0.0.1:${server.port}/mqtt`;
      const sub = await connect(t, url, { protocolVersion, clientId: `sub-${transport}` });
      const granted = await sub.subscribeAsync('js/#', { qos: 1 });
      assert.equal(granted[0].qos, 1);
      const messages = nextMessages(sub, 3);
      const pub = await connect(t, url, { protocolVersion, clientId: `pub-${transport}` });
      for (const qos of [0, 1, 2]) {
        await pub.publishAsync(`js/q${qos}`, `payload ${qos}`, { qos });
      }
      const got = await messages;
      assert.deepEqual(got.map((m) => m.topic).sort(), ['js/q0', 'js/q1', 'js/q2']);
      for (const m of got) {
        assert.equal(m.payload, `payload ${m.topic.at(-1)}`);
      }
    });
  }
}

test('a WebSocket v1 pub reaches an MQTT.js subscriber over /mqtt', async (t) => {
  const server = await startServer(t);
  const sub = await connect(t, `ws://127.0.0.1:${server.port}/mqtt`, { protocolVersion: 5 });
  await sub.subscribeAsync('board/+', { qos: 1 });
  const messages = nextMessages(sub, 1);
  const ws = new WebSocket(server.url, 'wsagent.v1');
  t.after(() => ws.terminate());
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  ws.send(JSON.stringify({ op: 'pub', tag: 'board.led', data: { on: true } }));
  const [m] = await messages;
  assert.equal(m.topic, 'board/led');
  assert.deepEqual(JSON.parse(m.payload), { on: true });
});
