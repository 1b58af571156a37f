#!/usr/bin/env node
// Simulated IoT devices for the demo, speaking either protocol the server offers:
//
// - WebSocket devices use the wsagent client library (clients/js);
// - MQTT devices use MQTT.js (npm `mqtt`) over TCP (--mqtt-listen) or WebSocket (/mqtt,
//   --mqtt-ws), the way real hardware would: topics iot/<id>/telemetry and iot/<id>/cmd are
//   the tags iot.<id>.telemetry and iot.<id>.cmd (docs/mqtt.md), and the token is the
//   MQTT password.
//
// Either way a device's token may publish only iot.<id>.telemetry and read only iot.<id>.cmd
// (`wsagent token --sub device-<id> --pub iot.<id>.telemetry --subscribe iot.<id>.cmd`).
// Every device reports its sensors once per interval and obeys `led` and `report` commands
// at once, acknowledging them in its next telemetry.
//
//   node demo/iot/devices.mjs --url ws://127.0.0.1:8080/ws --tokens FILE
//        [--mqtt-url mqtt://127.0.0.1:1883 --mqtt-tokens FILE] [--interval-ms 1000]
//
// Each FILE has one device per line: `<id> <token>`. Node 20 has no global WebSocket: `ws`
// and `mqtt` come from the repository's package.json (npm ci).

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import WebSocket from 'ws';

import { Client } from '../../clients/js/src/index.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'ws://127.0.0.1:8080/ws' },
    tokens: { type: 'string' },
    'mqtt-url': { type: 'string', default: 'mqtt://127.0.0.1:1883' },
    'mqtt-tokens': { type: 'string' },
    'interval-ms': { type: 'string', default: '1000' },
  },
});
if (!values.tokens && !values['mqtt-tokens']) {
  console.error('usage: devices.mjs --url ws://HOST:PORT/ws --tokens FILE '
    + '[--mqtt-url mqtt://HOST:PORT|ws://HOST:PORT/mqtt --mqtt-tokens FILE] [--interval-ms N]');
  process.exit(2);
}
const intervalMs = Math.max(50, Number(values['interval-ms']) || 1000);

function readDevices(file) {
  if (!file) return [];
  return readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean)
    .map((line) => line.split(/\s+/));
}

const wsDevices = readDevices(values.tokens);
const mqttDevices = readDevices(values['mqtt-tokens']);
const stops = [
  ...wsDevices.map(([id, token], index) => startWebSocketDevice(id, token, index)),
  ...mqttDevices.map(([id, token], index) => startMqttDevice(id, token, wsDevices.length + index)),
];

/**
 * What every device does whatever its protocol: invent readings, obey commands. `send`
 * publishes a telemetry object and returns false when offline (old readings are worth
 * nothing: they are not queued).
 */
function simulate(id, index, via, send) {
  const state = { led: 'off', ack: null, battery: 100 - index * 7, phase: index * 1.3 };
  const report = () => {
    const t = Date.now() / 1000;
    const data = {
      temperature: 21 + 3 * Math.sin(t / 20 + state.phase) + Math.random() * 0.3,
      humidity: 45 + 10 * Math.cos(t / 30 + state.phase),
      battery: Math.max(5, state.battery - 0.01),
      led: state.led,
      via,
      at: Date.now(),
    };
    if (state.ack) data.ack = state.ack;
    if (send(data)) {
      state.battery = data.battery;
      state.ack = null;
    }
  };
  const command = (data) => {
    console.log(`${id}: command ${JSON.stringify(data)} (${via})`);
    if (data?.command === 'led' && (data.value === 'on' || data.value === 'off')) {
      state.led = data.value;
    }
    state.ack = `${data?.command ?? '?'} ${data?.id ?? ''}`.trim();
    report();
  };
  const timer = setInterval(report, intervalMs);
  return { command, stop: () => clearInterval(timer) };
}

function startWebSocketDevice(id, token, index) {
  const client = new Client(values.url, { WebSocket, token, maxReconnectDelayMs: 2000 });
  const device = simulate(id, index, 'ws', (data) => {
    if (client.state !== 'connected') return false;
    client.publish(`iot.${id}.telemetry`, data).catch((error) => console.error(`${id}: telemetry not sent: ${error.message}`));
    return true;
  });
  client.subscribe(`iot.${id}.cmd`).on('message', ({ data }) => device.command(data));
  client.on('connected', () => console.log(`${id}: connected (ws)`));
  client.on('connecting', ({ code, delayMs }) => console.log(`${id}: connection lost (${code}), retrying in ${delayMs} ms`));
  client.on('error', (error) => console.error(`${id}: ${error.message}`));
  client.connect();
  return () => {
    device.stop();
    client.close();
  };
}

function startMqttDevice(id, token, index) {
  // Clean session: a device that was away does not want old commands replayed.
  const client = mqtt.connect(values['mqtt-url'], {
    clientId: `device-${id}`, username: `device-${id}`, password: token, protocolVersion: 5,
    reconnectPeriod: 2000, connectTimeout: 10000,
  });
  const device = simulate(id, index, 'mqtt', (data) => {
    if (!client.connected) return false;
    client.publish(`iot/${id}/telemetry`, JSON.stringify(data), { qos: 0 });
    return true;
  });
  client.on('connect', () => {
    console.log(`${id}: connected (mqtt)`);
    client.subscribe(`iot/${id}/cmd`, { qos: 1 }, (error) => {
      if (error) console.error(`${id}: cannot subscribe to its commands: ${error.message}`);
    });
  });
  client.on('message', (topic, payload) => {
    let data;
    try {
      data = JSON.parse(payload.toString());
    } catch {
      data = payload.toString();  // a command sent as plain text
    }
    device.command(data);
  });
  client.on('reconnect', () => console.log(`${id}: reconnecting (mqtt)`));
  client.on('error', (error) => console.error(`${id}: ${error.message}`));
  return () => {
    device.stop();
    client.end(true);
  };
}

const stop = () => {
  for (const s of stops) s();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
