// What the three demo applications share: the token from the URL fragment, one client per
// page, the connection banner, and a safe way to build DOM nodes from untrusted data.
//
// The development token travels in the fragment (#token=...), which browsers never send to
// any server; the page keeps it in sessionStorage (this tab only) and removes it from the
// address bar so that it is not bookmarked or shared by accident. Real applications get
// their tokens from their own backend (docs/getting-started.md).

import { Client } from '../lib/wsagent/index.js';

/** The fragment's parameters (token, name, ...), remembered for this tab. */
export function pageParams() {
  const fromHash = new URLSearchParams(location.hash.slice(1));
  let saved = {};
  try {
    saved = JSON.parse(sessionStorage.getItem('wsagent-demo') ?? '{}');
  } catch {
    saved = {};
  }
  const params = { ...saved, ...Object.fromEntries(fromHash) };
  sessionStorage.setItem('wsagent-demo', JSON.stringify(params));
  if (location.hash) {
    history.replaceState(null, '', location.pathname + location.search);
  }
  return params;
}

/** A connected client, with its state shown in the element #connection. */
export function startClient(params) {
  const client = new Client(undefined, params.token ? { token: params.token } : {});
  const banner = document.getElementById('connection');
  const show = (state, detail = '') => {
    if (!banner) {
      return;
    }
    banner.dataset.state = state;
    banner.textContent = {
      connecting: 'Connecting…',
      connected: 'Connected',
      disconnected: 'Disconnected',
    }[state] + (detail ? ` (${detail})` : '');
  };
  client.on('state', ({ state }) => show(state));
  client.on('connecting', ({ delayMs, reason }) => show('connecting', `${reason || 'connection lost'}; retrying in ${(delayMs / 1000).toFixed(1)} s`));
  client.on('connected', ({ hello }) => {
    show('connected', `node ${hello.node}`);
    document.body.dataset.connected = 'yes';
  });
  client.on('disconnected', ({ reason }) => show('disconnected', reason));
  client.on('draining', ({ withinMs }) => show('connected', `the node is shutting down: moving to another within ${(withinMs / 1000).toFixed(1)} s`));
  client.on('error', (error) => console.warn('wsagent:', error.code, error.reason));
  show('connecting');
  client.connect();
  window.wsagentClient = client;  // for the console (and the browser tests)
  return client;
}

/** el('li', {class: 'x'}, 'text', child): text is always text, never HTML. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'dataset') {
      Object.assign(node.dataset, value);
    } else if (name.startsWith('on')) {
      node.addEventListener(name.slice(2), value);
    } else {
      node.setAttribute(name, value);
    }
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function timeOf(ms) {
  return new Date(ms).toLocaleTimeString();
}
