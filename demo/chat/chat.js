// Chat: each room is a tag (chat.<room>); joining replays what the server retained
// (`since: 0`), reconnects recover what was missed, messages sent while offline wait in the
// client's queue. Who is online comes from protocol 1.1 presence when the server offers it,
// otherwise from beacons the pages publish to chat.<room>.online.

import { el, pageParams, startClient, timeOf } from '../common/app.js';

const keep = 200;            // messages shown per room
const beaconEveryMs = 15000; // fallback presence: "I am here" this often...
const beaconTtlMs = 40000;   // ...and forgotten after this long without one

const params = pageParams();
const client = startClient(params);
const rooms = ['lobby', 'random', 'dev'];
const name = params.name || localStorage.getItem('wsagent-chat-name') || `guest-${Math.floor(Math.random() * 9000) + 1000}`;
const nameInput = document.getElementById('name');
nameInput.value = name;
nameInput.addEventListener('change', () => localStorage.setItem('wsagent-chat-name', nameInput.value.trim()));

const messagesEl = document.getElementById('messages');
const onlineEl = document.getElementById('online');
let room = null;  // {name, sub, online: {stop(), render()}}

function me() {
  return nameInput.value.trim() || name;
}

function renderRooms() {
  const list = document.getElementById('rooms');
  list.replaceChildren(...rooms.map((r) => el('li', {
    onclick: () => join(r),
    ...(room?.name === r ? { 'aria-current': 'true' } : {}),
  }, `# ${r}`)));
}

function showMessage(message) {
  const data = message.data ?? {};
  const pending = data.nonce && messagesEl.querySelector(`li[data-nonce="${CSS.escape(String(data.nonce))}"]`);
  const item = el('li', { dataset: { seq: String(message.seq) } },
    el('span', { class: 'from' }, String(data.from ?? '?')),
    el('span', { class: 'text' }, String(data.text ?? '')),
    el('span', { class: 'at' }, data.at ? timeOf(data.at) : ''));
  if (pending) {
    pending.replaceWith(item);
  } else {
    messagesEl.append(item);
  }
  while (messagesEl.children.length > keep) {
    messagesEl.firstElementChild.remove();
  }
  messagesEl.scrollTop = messagesEl.scrollHeight;
}

function join(name) {
  if (room?.name === name) {
    return;
  }
  if (room) {
    room.online?.stop();
    room.stopWaiting?.();
    room.sub.unsubscribe();
  }
  messagesEl.replaceChildren();
  document.getElementById('room-title').textContent = `# ${name}`;
  const sub = client.subscribe(`chat.${name}`, { since: 0, presence: true });
  sub.on('message', showMessage);
  sub.on('gap', () => messagesEl.append(el('li', { class: 'gap' },
    'Some messages could not be recovered (the server lost its history).')));
  room = { name, sub, online: null, stopWaiting: null };
  startOnline(room);
  renderRooms();
}

// The server's features are known once connected.
function startOnline(r) {
  const start = () => {
    if (room === r && !r.online) {
      r.online = client.features.has('presence') ? protocolPresence(r.sub) : beaconPresence(r.name);
    }
  };
  if (client.state === 'connected') {
    start();
  } else {
    r.stopWaiting = client.once('connected', start);
  }
}

// ---- who is online ----

function renderOnline(names, how) {
  onlineEl.replaceChildren(...[...names].sort().map((n) => el('li', {}, n)));
  document.getElementById('online-count').textContent = `(${names.size})`;
  document.getElementById('online-how').textContent = how;
}

function protocolPresence(sub) {
  const who = new Map();
  const label = (w) => String(w.info?.name ?? w.sub ?? w.conn);
  const render = () => renderOnline(new Set(who.values()), 'from the server (presence)');
  const refresh = async () => {
    try {
      const list = await sub.presence();
      who.clear();
      for (const w of list.who) who.set(w.conn, label(w));
      render();
    } catch (error) {
      console.warn('presence', error);
    }
  };
  if (sub.state === 'subscribed') refresh();
  const offs = [
    sub.on('subscribed', refresh),
    sub.on('join', ({ who: w }) => { who.set(w.conn, label(w)); render(); }),
    sub.on('leave', ({ who: w }) => { who.delete(w.conn); render(); }),
  ];
  return { stop: () => offs.forEach((off) => off()) };
}

function beaconPresence(roomName) {
  const tag = `chat.${roomName}.online`;
  const seen = new Map();  // name -> last beacon time
  const sub = client.subscribe(tag, { since: 0 });
  const render = () => {
    const now = Date.now();
    const names = new Set();
    for (const [n, at] of seen) {
      if (now - at < beaconTtlMs) names.add(n);
    }
    names.add(me());
    renderOnline(names, 'from the pages\' beacons (the server does not offer presence)');
  };
  sub.on('message', ({ data }) => {
    if (data && typeof data.name === 'string') {
      if (data.here) seen.set(data.name, Math.min(Date.now(), Number(data.at) || 0));
      else seen.delete(data.name);
      render();
    }
  });
  const beacon = (here) => client.state === 'connected' && client.publish(tag, { name: me(), here, at: Date.now() }).catch(() => {});
  const offConnected = client.on('connected', () => beacon(true));
  if (client.state === 'connected') beacon(true);
  const timer = setInterval(() => { beacon(true); render(); }, beaconEveryMs);
  const bye = () => beacon(false);
  addEventListener('pagehide', bye);
  render();
  return {
    stop() {
      bye();
      clearInterval(timer);
      offConnected();
      removeEventListener('pagehide', bye);
      sub.unsubscribe();
    },
  };
}

// ---- sending ----

document.getElementById('send').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('text');
  const text = input.value.trim();
  if (!text || !room) return;
  input.value = '';
  const nonce = crypto.randomUUID();
  const data = { from: me(), text, at: Date.now(), nonce };
  // Shown at once, greyed until the server has it (also while offline: it waits in the queue).
  const item = el('li', { class: 'pending', dataset: { nonce } },
    el('span', { class: 'from' }, data.from), el('span', { class: 'text' }, text), el('span', { class: 'at' }, 'sending…'));
  messagesEl.append(item);
  messagesEl.scrollTop = messagesEl.scrollHeight;
  client.publish(`chat.${room.name}`, data).catch((error) => {
    item.classList.add('failed');
    item.querySelector('.at').textContent = `not sent: ${error.code}`;
  });
});

document.getElementById('new-room').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('room-name');
  const r = input.value.trim().toLowerCase();
  if (/^[a-z0-9_-]{1,32}$/.test(r)) {
    if (!rooms.includes(r)) rooms.push(r);
    input.value = '';
    join(r);
  }
});

join(params.room || 'lobby');
