// IoT board: one pattern subscription (iot.*.telemetry) shows each device's current value,
// whether the device speaks WebSocket or MQTT (iot/<device>/telemetry is the same tag);
// commands go to iot.<device>.cmd, which only that device may read. With protocol 1.1 the
// subscription is conflated ("latest", one value per device every 250 ms): a board wants
// the current value, not every value.

import { el, pageParams, startClient, timeOf } from '../common/app.js';

const params = pageParams();
const client = startClient(params);
const devices = new Map();  // id -> {card, fields, status, last}
const container = document.getElementById('devices');

const sub = client.subscribe('iot.*.telemetry', { mode: 'latest', intervalMs: 250 });
sub.on('message', ({ tag, data, ts }) => update(tag.split('.')[1], data, ts));
sub.on('gap', () => {
  const gap = document.getElementById('gap');
  gap.hidden = false;
  gap.textContent = `Reconnected at ${timeOf(Date.now())}: values refresh with the next telemetry.`;
});

function card(id) {
  let d = devices.get(id);
  if (d) return d;
  const fields = {};
  const row = (key, label) => [el('dt', {}, label), (fields[key] = el('dd', { dataset: { field: key } }, '–'))];
  const led = el('span', { class: 'led', title: 'LED' });
  const via = el('span', { class: 'via' });
  const status = el('div', { class: 'status' });
  const command = (label, body) => el('button', { onclick: () => send(id, body, status) }, label);
  const node = el('article', { class: 'device', dataset: { device: id } },
    el('h3', {}, id, via, led),
    el('dl', {}, ...row('temperature', 'temperature'), ...row('humidity', 'humidity'),
      ...row('battery', 'battery'), ...row('seen', 'last seen')),
    el('div', { class: 'commands' },
      command('LED on', { command: 'led', value: 'on' }),
      command('LED off', { command: 'led', value: 'off' }),
      command('Report now', { command: 'report' })),
    status);
  d = { node, fields, led, via, status, last: 0 };
  devices.set(id, d);
  container.append(node);
  document.getElementById('empty').hidden = true;
  document.getElementById('device-count').textContent = `(${devices.size})`;
  return d;
}

function update(id, data, ts) {
  if (!id || !data || typeof data !== 'object') return;
  const d = card(id);
  d.last = Date.now();
  d.node.dataset.stale = 'false';
  // Any device may report (mosquitto_pub from a shell too): show what it sent, '–' otherwise.
  const show = (field, digits, unit) => {
    const value = Number(data[field]);
    d.fields[field].textContent = Number.isFinite(value) ? `${value.toFixed(digits)} ${unit}` : '–';
  };
  show('temperature', 1, '°C');
  show('humidity', 0, '%');
  show('battery', 0, '%');
  d.fields.seen.textContent = timeOf(ts ?? (Number.isFinite(data.at) ? data.at : Date.now()));
  d.via.textContent = data.via === 'ws' ? 'WebSocket' : data.via === 'mqtt' ? 'MQTT' : '';
  d.led.dataset.on = String(data.led === 'on');
  if (data.ack) {
    d.status.textContent = `done: ${data.ack}`;
  }
}

async function send(id, body, status) {
  const command = { ...body, id: crypto.randomUUID().slice(0, 8), at: Date.now() };
  status.textContent = `sending ${body.command}…`;
  try {
    const seq = await client.publish(`iot.${id}.cmd`, command);
    status.textContent = `sent ${body.command} (#${seq}), waiting for the device…`;
  } catch (error) {
    status.textContent = `not sent: ${error.code} ${error.reason}`;
  }
}

// A device that stops reporting fades out.
setInterval(() => {
  for (const d of devices.values()) {
    d.node.dataset.stale = String(Date.now() - d.last > 10000);
  }
}, 2000);
