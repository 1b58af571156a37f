#!/usr/bin/env node
// Simulated IoT devices for the demo: each is a wsagent client of its own, with a token
// allowed to publish only iot.<id>.telemetry and to read only iot.<id>.cmd (mint them with
// `wsagent token --sub device-<id> --pub iot.<id>.telemetry --subscribe iot.<id>.cmd`).
// Every device reports its sensors once per interval and obeys `led` and `report` commands
// at once, acknowledging them in its next telemetry.
//
//   node demo/iot/devices.mjs --url ws://127.0.0.1:8080/ws --tokens FILE [--interval-ms 1000]
//
// FILE has one device per line: `<id> <token>`. Node 20 has no global WebSocket: the `ws`
// package comes from the repository's package.json (npm ci).

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

import { Client } from '../../clients/js/src/index.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'ws://127.0.0.1:8080/ws' },
    tokens: { type: 'string' },
    'interval-ms': { type: 'string', default: '1000' },
  },
});
if (!values.tokens) {
  console.error('usage: devices.mjs --url ws://HOST:PORT/ws --tokens FILE [--interval-ms N]');
  process.exit(2);
}
const intervalMs = Math.max(50, Number(values['interval-ms']) || 1000);
const lines = readFileSync(values.tokens, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);

const clients = lines.map((line, index) => {
  const [id, token] = line.split(/\s+/);
  return startDevice(id, token, index);
});

function startDevice(id, token, index) {
  const client = new Client(values.url, { WebSocket, token, maxReconnectDelayMs: 2000 });
  const state = { led: 'off', ack: null, battery: 100 - index * 7, phase: index * 1.3 };
  const report = () => {
    if (client.state !== 'connected') {
      return;  // old readings are worth nothing: do not queue them while offline
    }
    const t = Date.now() / 1000;
    state.battery = Math.max(5, state.battery - 0.01);
    const data = {
      temperature: 21 + 3 * Math.sin(t / 20 + state.phase) + Math.random() * 0.3,
      humidity: 45 + 10 * Math.cos(t / 30 + state.phase),
      battery: state.battery,
      led: state.led,
      at: Date.now(),
    };
    if (state.ack) {
      data.ack = state.ack;
      state.ack = null;
    }
    client.publish(`iot.${id}.telemetry`, data).catch((error) => console.error(`${id}: telemetry not sent: ${error.message}`));
  };
  client.subscribe(`iot.${id}.cmd`).on('message', ({ data }) => {
    console.log(`${id}: command ${JSON.stringify(data)}`);
    if (data?.command === 'led' && (data.value === 'on' || data.value === 'off')) {
      state.led = data.value;
    }
    state.ack = `${data?.command ?? '?'} ${data?.id ?? ''}`.trim();
    report();
  });
  client.on('connected', () => console.log(`${id}: connected`));
  client.on('connecting', ({ code, delayMs }) => console.log(`${id}: connection lost (${code}), retrying in ${delayMs} ms`));
  client.on('error', (error) => console.error(`${id}: ${error.message}`));
  client.connect();
  setInterval(report, intervalMs);
  return client;
}

const stop = () => {
  for (const c of clients) c.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
