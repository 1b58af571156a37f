// Live dashboard: the server's own figures (published once a second to the --stats-tag tag,
// replayed from history on load) and the devices' telemetry (iot.*.telemetry), as uPlot
// charts that move every second.

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { el, pageParams, startClient } from '../common/app.js';

const points = 300;  // about five minutes at one report a second
const params = pageParams();
const client = startClient(params);
const statsTag = params.stats || 'sys.wsagent.stats';
const colors = ['#2f6fec', '#1f9d55', '#d97706', '#dc2626', '#7c3aed', '#0891b2', '#be185d'];

function chart(id, labels) {
  const target = document.getElementById(id);
  const series = [{}, ...labels.map((label, i) => ({ label, stroke: colors[i % colors.length], width: 2 }))];
  const data = [[], ...labels.map(() => [])];
  const plot = new uPlot({ width: target.clientWidth || 480, height: 220, series, scales: { x: { time: true } },
    axes: [{}, { size: 60, values: (u, ticks) => ticks.map(compact) }] }, data, target);
  return { plot, data, updates: 0 };
}

function compact(n) {
  const a = Math.abs(n);
  return a >= 1e9 ? `${+(n / 1e9).toFixed(1)}G` : a >= 1e6 ? `${+(n / 1e6).toFixed(1)}M` : a >= 1e4 ? `${+(n / 1e3).toFixed(1)}k` : `${+n.toFixed(2)}`;
}

function push(c, x, values) {
  c.data[0].push(x);
  values.forEach((v, i) => c.data[i + 1].push(v));
  for (const column of c.data) {
    if (column.length > points) column.splice(0, column.length - points);
  }
  c.plot.setData(c.data);
  c.updates++;
}

const charts = {
  connections: chart('chart-connections', ['websockets', 'subscriptions']),
  messages: chart('chart-messages', ['in', 'out', 'publishes']),
  bytes: chart('chart-bytes', ['in', 'out']),
  telemetry: null,
};
window.dashboard = charts;  // for the console and the browser tests

// ---- the node's figures ----

let previous = null;
function rate(now, before, key, seconds) {
  const d = now.total[key] - before.total[key];
  return d >= 0 ? d / seconds : null;  // a restarted node starts its counters again
}

const stats = client.subscribe(statsTag, { since: 0 });
stats.on('message', ({ data }) => {
  if (!data || !data.total) return;
  const x = data.ts / 1000;
  push(charts.connections, x, [data.total.websockets, data.total.subscriptions]);
  if (previous && data.ts > previous.ts) {
    const s = (data.ts - previous.ts) / 1000;
    push(charts.messages, x, [rate(data, previous, 'messages_in', s), rate(data, previous, 'messages_out', s),
      rate(data, previous, 'publishes', s)]);
    push(charts.bytes, x, [rate(data, previous, 'bytes_in', s), rate(data, previous, 'bytes_out', s)]);
  }
  previous = data;
  showShards(data);
});
stats.on('error', (error) => {
  document.getElementById('stats-note').textContent = `Cannot read ${statsTag}: ${error.code}. Start the server with --stats-tag ${statsTag}.`;
});

function showShards(data) {
  document.getElementById('node').textContent = `${data.node}, ${data.shards} shard(s)`;
  const keys = ['connections', 'subscriptions', 'messages_in', 'messages_out', 'bytes_in', 'bytes_out', 'slow_consumer_closes'];
  const rows = [el('tr', {}, el('th', {}, ''), ...keys.map((k) => el('th', {}, k.replace(/_/g, ' '))))];
  data.per_shard.forEach((shard, i) => rows.push(el('tr', {}, el('td', {}, `shard ${i}`), ...keys.map((k) => el('td', {}, shard[k])))));
  rows.push(el('tr', {}, el('td', {}, 'total'), ...keys.map((k) => el('td', {}, data.total[k]))));
  document.getElementById('shards').replaceChildren(...rows);
}

// ---- device telemetry: sampled once a second, one series per device ----

const temperatures = new Map();
const telemetry = client.subscribe('iot.*.telemetry', { mode: 'latest', intervalMs: 500 });
telemetry.on('message', ({ tag, data }) => {
  if (data && typeof data.temperature === 'number') temperatures.set(tag.split('.')[1], data.temperature);
});
setInterval(() => {
  if (temperatures.size === 0) return;
  const devices = [...temperatures.keys()].sort();
  if (!charts.telemetry || charts.telemetry.devices.join() !== devices.join()) {
    charts.telemetry?.plot.destroy();
    charts.telemetry = { ...chart('chart-telemetry', devices), devices };
  }
  push(charts.telemetry, Date.now() / 1000, devices.map((d) => temperatures.get(d)));
}, 1000);
