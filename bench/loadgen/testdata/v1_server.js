// Stand-in wsagent protocol v1 server for testing wsagent-loadgen without wsagent.
// Implements just enough of docs/protocol.md: hello, sub (exact tags, with `since`
// replay from a bounded history), unsub, pub (with or without id), ping, msg fan-out.
// Not a reference implementation: `data` is re-serialised with JSON.stringify, which
// reproduces the load generator's compact payload byte for byte but not arbitrary JSON.
//
// Test knobs that exercise the client:
//   --fragment     send every msg frame in 3 WebSocket fragments
//   --ping-ms N    ping every client every N ms (the client must pong)
//   --kick-after N close each subscriber with 4008 after it received N msgs
//   --token T      refuse upgrades without `Authorization: Bearer T` (HTTP 401)
//
// Usage: node v1_server.js [--port P] [...]; prints "listening <port>" once ready.
'use strict';
const { WebSocketServer } = require('ws');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const fragment = args.includes('--fragment');
const pingMs = Number(opt('--ping-ms', 0));
const kickAfter = Number(opt('--kick-after', 0));
const token = opt('--token', '');
const historyMax = 1000;
const epoch = 'e' + process.pid.toString(16);
let pongs = 0;  // answered pings over every connection, also closed ones

const tags = new Map();  // tag -> { seq, subs: Set<ws>, history: [[seq, frame]] }
const tagState = (tag) => {
  let t = tags.get(tag);
  if (!t) {
    t = { seq: 0, subs: new Set(), history: [] };
    tags.set(tag, t);
  }
  return t;
};

function deliver(ws, frame) {
  ws.delivered = (ws.delivered || 0) + 1;
  if (fragment && frame.length >= 3) {
    const a = Math.floor(frame.length / 3);
    const buf = Buffer.from(frame);
    ws.send(buf.subarray(0, a), { binary: false, fin: false });
    ws.send(buf.subarray(a, 2 * a), { binary: false, fin: false });
    ws.send(buf.subarray(2 * a), { binary: false, fin: true });
  } else {
    ws.send(frame);
  }
  if (kickAfter > 0 && ws.delivered === kickAfter) {
    ws.close(4008, 'slow consumer');
  }
}

function reply(ws, id, body) {
  if (id !== undefined) {
    ws.send(JSON.stringify(Object.assign({ op: 'ok', id }, body)));
  }
}

function error(ws, id, code, reason) {
  const e = { op: 'err', code, reason };
  if (id !== undefined) e.id = id;
  ws.send(JSON.stringify(e));
}

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: Number(opt('--port', 0)),
  path: '/ws',
  perMessageDeflate: false,
  handleProtocols: (protocols) => (protocols.has('wsagent.v1') ? 'wsagent.v1' : false),
  verifyClient: (info, done) => {
    if (!token || info.req.headers.authorization === 'Bearer ' + token) return done(true);
    done(false, 401, 'Unauthorized');
  },
});

wss.on('connection', (ws) => {
  ws.mine = new Set();
  ws.send(JSON.stringify({ op: 'hello', node: 'stand-in', conn: 'c-' + Math.random().toString(16).slice(2, 8), version: '0.0.0' }));
  ws.on('message', (raw, isBinary) => {
    if (isBinary) return error(ws, undefined, 'bad_request', 'binary frames are reserved');
    let m;
    try {
      m = JSON.parse(raw.toString());
    } catch (e) {
      return error(ws, undefined, 'bad_request', 'not JSON');
    }
    switch (m.op) {
      case 'sub': {
        const seq = {};
        const ep = {};
        const gaps = [];
        const replay = [];
        for (const tag of m.tags || []) {
          const t = tagState(tag);
          t.subs.add(ws);
          ws.mine.add(tag);
          seq[tag] = t.seq;
          ep[tag] = epoch;
          const since = m.since && m.since[tag];
          if (since !== undefined) {
            const from = typeof since === 'object' ? since.seq : since;
            const oldest = t.history.length ? t.history[0][0] : t.seq + 1;
            if (from > t.seq || from + 1 < oldest) gaps.push(tag);
            for (const [s, frame] of t.history) if (s > from) replay.push(frame);
          }
        }
        const body = { seq, epoch: ep };
        if (gaps.length) body.gaps = gaps;
        reply(ws, m.id, body);
        for (const frame of replay) deliver(ws, frame);
        break;
      }
      case 'unsub':
        for (const tag of m.tags || []) {
          tagState(tag).subs.delete(ws);
          ws.mine.delete(tag);
        }
        reply(ws, m.id, {});
        break;
      case 'pub': {
        if (typeof m.tag !== 'string') return error(ws, m.id, 'bad_tag', 'pub needs a tag');
        const t = tagState(m.tag);
        t.seq += 1;
        const frame = '{"op":"msg","tag":' + JSON.stringify(m.tag) + ',"seq":' + t.seq +
                      ',"data":' + JSON.stringify(m.data) + '}';
        t.history.push([t.seq, frame]);
        if (t.history.length > historyMax) t.history.shift();
        for (const sub of t.subs) deliver(sub, frame);
        reply(ws, m.id, { seq: t.seq });
        break;
      }
      case 'ping':
        reply(ws, m.id, {});
        break;
      default:
        error(ws, m.id, 'bad_request', 'unknown op');
    }
  });
  ws.on('close', () => {
    for (const tag of ws.mine) tagState(tag).subs.delete(ws);
  });
  if (pingMs > 0) {
    ws.on('pong', () => { pongs += 1; });
    ws.pinger = setInterval(() => ws.ping('p'), pingMs);
    ws.on('close', () => clearInterval(ws.pinger));
  }
});

wss.on('listening', () => console.log('listening ' + wss.address().port));

// Report how many pings were answered when told to stop (the smoke test checks it).
process.on('SIGTERM', () => {
  console.log('pongs ' + pongs);
  process.exit(0);
});
