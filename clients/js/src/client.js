// The wsagent client: one WebSocket to a server (docs/protocol.md), kept open by itself.
//
// - Connects with a token (a string, or a function returning one or a promise of one) sent
//   in an `auth` frame, never in a URL; refreshes it before its `exp` with another `auth`
//   frame on the open connection.
// - Reconnects after any loss with exponential backoff and full jitter, at once when the
//   browser comes back online or the page becomes visible, and after the server's
//   `reconnect` hint (draining) within the delay it gives.
// - Re-subscribes every subscription with `since` and `epoch`; publishes wait in a bounded
//   queue until acknowledged and are sent again after a reconnect (with an `idem` key when
//   the server offers it, so that they are published once).
// - Uses protocol 1.1 features (idem, presence, latest, pattern-since, gap, ts) only when
//   `hello.features` lists them.
// - Never throws from a network callback: problems become `error` events.

import { backoffDelayMs } from './backoff.js';
import { Emitter } from './emitter.js';
import { WsagentError } from './errors.js';
import { PublishQueue } from './publish_queue.js';
import { Subscription } from './subscription.js';
import { isValidTag, matchesPattern } from './tags.js';
import { refreshDelayMs, tokenExpiryMs } from './token.js';
import { watchEnvironment } from './environment.js';

const defaults = {
  token: undefined,
  WebSocket: undefined,
  protocols: ['wsagent.v1'],
  minReconnectDelayMs: 500,
  maxReconnectDelayMs: 20000,
  connectTimeoutMs: 10000,
  pingIntervalMs: 20000,
  pongTimeoutMs: 10000,
  maxQueuedPublishes: 1000,
  maxQueuedBytes: 4 * 1024 * 1024,
  maxMessageBytes: 64 * 1024,
  resendUnacknowledged: true,
  maxTrackedTags: 1000,
  random: Math.random,
};

const encoder = new TextEncoder();
const maxTimerMs = 2 ** 31 - 1;

export class Client extends Emitter {
  #url;
  #opts;
  #WebSocket;
  #state = 'disconnected';
  #wanted = false;        // connect() called and close() not since
  #ws = null;
  #serial = 0;            // connection attempt number: stale callbacks compare it
  #hello = null;
  #features = new Set();
  #everConnected = false;
  #nextId = 1;
  #requests = new Map();  // id -> {kind, ...} for the current connection
  #subs = new Map();      // tag or pattern -> Subscription
  #queue;
  #attempt = 0;
  #timers = { retry: null, connect: null, refresh: null, heartbeat: null };
  #token = null;
  #authFailed = false;
  #reconnectWithinMs = null;
  #lastReceived = 0;
  #lastTick = 0;
  #ping = null;           // {id, sentAt} while a liveness ping waits
  #unwatch = null;

  /**
   * @param {string} [url] ws:// or wss:// URL of the server's /ws; in a browser, defaults to
   *   the page's own host
   * @param {object} [options] see index.d.ts (ClientOptions)
   */
  constructor(url, options = {}) {
    super((error, event) => this.#report('listener', `a "${event}" listener threw: ${error}`, error));
    this.#opts = { ...defaults, ...options };
    this.#url = url ?? defaultUrl();
    this.#WebSocket = this.#opts.WebSocket ?? globalThis.WebSocket;
    if (typeof this.#WebSocket !== 'function') {
      throw new TypeError('no WebSocket implementation: pass options.WebSocket (e.g. from the "ws" package)');
    }
    this.#queue = new PublishQueue(this.#opts.maxQueuedPublishes, this.#opts.maxQueuedBytes);
  }

  /** 'connecting' | 'connected' | 'disconnected' */
  get state() {
    return this.#state;
  }

  /** The server's `hello` of the current connection (null when not connected). */
  get hello() {
    return this.#hello;
  }

  /** Protocol features of the current server (`hello.features`; empty for protocol 1). */
  get features() {
    return this.#features;
  }

  /** Starts connecting (and keeps reconnecting) until close(). Calling it again is harmless. */
  connect() {
    if (this.#wanted) {
      return this;
    }
    this.#wanted = true;
    this.#unwatch = watchEnvironment({
      online: () => this.#wake(true),
      offline: () => this.#ws !== null && this.#drop(4000, 'the network went offline'),
      visible: () => this.#wake(false),
    });
    this.#guard(() => this.#open());
    return this;
  }

  /** Closes the connection for good: no reconnect; unacknowledged publishes are rejected. */
  close() {
    if (!this.#wanted) {
      return;
    }
    this.#wanted = false;
    this.#unwatch?.();
    this.#unwatch = null;
    this.#clearTimers();
    this.#serial++;
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      detach(ws);
      try {
        ws.close(1000, 'client closed');
      } catch {
        // already closing
      }
    }
    this.#forgetConnection();
    for (const entry of this.#queue.list()) {
      this.#settlePublish(entry, new WsagentError('closed', 'the client was closed'));
    }
    this.#setState('disconnected');
    this.emit('disconnected', { code: 1000, reason: 'closed by the client' });
  }

  /**
   * Subscribes to an exact tag or a pattern. Options: since (seq, {seq, epoch}, or for a
   * pattern {ts}), presence, mode: 'latest' with intervalMs. Returns the Subscription at once.
   */
  subscribe(tag, options = {}) {
    if (!isValidTag(tag, true)) {
      throw new TypeError(`invalid tag or pattern: ${JSON.stringify(tag)}`);
    }
    if (this.#subs.has(tag)) {
      throw new Error(`already subscribed to ${tag}: use getSubscription() or unsubscribe first`);
    }
    const sub = new Subscription(this, tag, { maxTrackedTags: this.#opts.maxTrackedTags, ...options },
      (error, event) => this.#report('listener', `a "${event}" listener of ${tag} threw: ${error}`, error));
    this.#subs.set(tag, sub);
    if (this.#state === 'connected') {
      this.#sendSub(sub, false);
    }
    return sub;
  }

  getSubscription(tag) {
    return this.#subs.get(tag) ?? null;
  }

  subscriptions() {
    return [...this.#subs.values()];
  }

  /**
   * Publishes `data` (any JSON value) to an exact tag. Resolves with the message's seq;
   * rejects with a WsagentError whose code is the server's (forbidden, too_large, ...) or
   * queue_full, too_large, timeout, closed. Options: idem (your own idempotency key),
   * timeoutMs.
   */
  publish(tag, data, options = {}) {
    return new Promise((resolve, reject) => {
      if (!isValidTag(tag, false)) {
        reject(new WsagentError('bad_tag', `cannot publish to ${JSON.stringify(tag)}`));
        return;
      }
      let json;
      try {
        json = JSON.stringify(data);
      } catch (error) {
        reject(new WsagentError('bad_request', `data is not JSON: ${error.message}`));
        return;
      }
      if (json === undefined) {
        reject(new WsagentError('bad_request', 'data is not a JSON value'));
        return;
      }
      const bytes = encoder.encode(json).length + tag.length + 96;
      if (bytes > this.#opts.maxMessageBytes) {
        reject(new WsagentError('too_large', `the message takes ${bytes} bytes (maxMessageBytes ${this.#opts.maxMessageBytes})`));
        return;
      }
      const entry = { tag, json, bytes, idem: options.idem ?? randomKey(), resolve, reject,
        id: null, serial: 0, sentWithIdem: false, timer: null };
      if (!this.#queue.add(entry)) {
        reject(new WsagentError('queue_full', `${this.#queue.size} publishes (${this.#queue.bytes} bytes) wait for the server`));
        return;
      }
      if (options.timeoutMs > 0) {
        entry.timer = setTimeout(() => this.#settlePublish(entry,
          new WsagentError('timeout', `no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
      }
      if (this.#state === 'connected') {
        this.#sendPublish(entry);
      }
    });
  }

  /** Round trip to the server in milliseconds (rejects when not connected). */
  ping() {
    if (this.#state !== 'connected') {
      return Promise.reject(new WsagentError('disconnected', 'not connected'));
    }
    const sentAt = now();
    return this.#request({ op: 'ping' }).then(() => now() - sentAt);
  }

  /** What the client holds in memory (all bounded by the options). */
  stats() {
    let trackedTags = 0;
    for (const sub of this.#subs.values()) {
      trackedTags += sub.trackedTags;
    }
    return { queuedPublishes: this.#queue.size, queuedBytes: this.#queue.bytes,
      pendingRequests: this.#requests.size, subscriptions: this.#subs.size, trackedTags };
  }

  // ---- connection lifecycle ----

  async #open() {
    const serial = ++this.#serial;
    this.#clearTimers();
    this.#setState('connecting');
    this.#authFailed = false;
    this.#timers.connect = setTimeout(() => this.#drop(4000, `not connected within ${this.#opts.connectTimeoutMs} ms`, serial),
      this.#opts.connectTimeoutMs);
    let token = null;
    if (this.#opts.token !== undefined) {
      try {
        token = typeof this.#opts.token === 'function' ? await this.#opts.token() : this.#opts.token;
      } catch (error) {
        if (serial === this.#serial) {
          this.#report('auth', `the token provider failed: ${error?.message ?? error}`, error);
          this.#lost(serial, 4001, 'no token');
        }
        return;
      }
      if (serial !== this.#serial) {
        return;
      }
      if (typeof token !== 'string' || token === '') {
        this.#report('auth', 'the token provider gave no token');
        this.#lost(serial, 4001, 'no token');
        return;
      }
    }
    let ws;
    try {
      ws = new this.#WebSocket(this.#url, this.#opts.protocols);
    } catch (error) {
      this.#report('socket', `cannot open ${this.#url}: ${error?.message ?? error}`, error);
      this.#lost(serial, 1006, 'cannot open');
      return;
    }
    this.#ws = ws;
    this.#token = token;
    ws.onmessage = (event) => this.#guard(() => this.#onFrame(serial, event.data));
    ws.onclose = (event) => this.#guard(() => this.#lost(serial, event.code, event.reason));
    ws.onerror = ignore;  // a close event follows with the details there are
  }

  #onConnected(serial) {
    clearTimeout(this.#timers.connect);
    this.#timers.connect = null;
    const reconnected = this.#everConnected;
    this.#everConnected = true;
    this.#attempt = 0;
    this.#setState('connected');
    this.#scheduleRefresh(serial);
    this.#startHeartbeat(serial);
    this.emit('connected', { hello: this.#hello, reconnected });
    for (const sub of [...this.#subs.values()]) {
      if (sub._isActive() && serial === this.#serial) {
        this.#sendSub(sub, reconnected);
      }
    }
    for (const entry of this.#queue.list()) {
      if (serial === this.#serial && entry.id === null) {
        this.#sendPublish(entry);
      }
    }
  }

  /** The connection `serial` ended (closed by either side, or never opened). */
  #lost(serial, code, reason) {
    if (serial !== this.#serial || !this.#wanted) {
      return;
    }
    this.#serial++;
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      detach(ws);
    }
    this.#clearTimers();
    const tooLarge = code === 1009;
    this.#forgetConnection(serial, tooLarge);
    if (this.#authFailed && typeof this.#opts.token === 'string') {
      // The same token would be refused again: only the application can help.
      this.#wanted = false;
      this.#unwatch?.();
      this.#setState('disconnected');
      this.emit('disconnected', { code, reason: reason || 'the token was refused' });
      return;
    }
    let delayMs;
    if (this.#reconnectWithinMs !== null) {
      delayMs = Math.floor(this.#opts.random() * this.#reconnectWithinMs);
      this.#reconnectWithinMs = null;
    } else {
      delayMs = backoffDelayMs(this.#attempt++, this.#opts.minReconnectDelayMs, this.#opts.maxReconnectDelayMs, this.#opts.random);
    }
    this.#setState('connecting');
    this.emit('connecting', { code, reason: reason ?? '', delayMs });
    this.#timers.retry = setTimeout(() => this.#guard(() => this.#open()), delayMs);
  }

  /** Closes the current socket from our side and handles it as lost. */
  #drop(code, reason, serial = this.#serial) {
    if (serial !== this.#serial || !this.#wanted) {
      return;
    }
    const ws = this.#ws;
    if (ws) {
      detach(ws);
      try {
        ws.close(code, reason);
      } catch {
        // closing already
      }
    }
    this.#lost(serial, code, reason);
  }

  /** Back online, page visible again or woken from sleep: check or retry now. */
  #wake(networkChanged) {
    if (!this.#wanted) {
      return;
    }
    if (this.#state === 'connected') {
      this.#sendPing(this.#serial);
    } else if (this.#timers.retry !== null) {
      clearTimeout(this.#timers.retry);
      this.#timers.retry = null;
      if (networkChanged) {
        this.#attempt = 0;
      }
      this.#guard(() => this.#open());
    }
  }

  #forgetConnection(serial, tooLarge = false) {
    this.#hello = null;
    this.#features = new Set();
    this.#ping = null;
    const requests = this.#requests;
    this.#requests = new Map();
    for (const request of requests.values()) {
      if (request.reject) {
        request.reject(new WsagentError('disconnected', 'the connection was lost before the answer'));
      }
    }
    let largest = null;
    for (const entry of this.#queue.list()) {
      if (entry.id === null) {
        continue;
      }
      if (tooLarge && entry.serial === serial && (largest === null || entry.bytes > largest.bytes)) {
        largest = entry;
      }
      entry.id = null;
      if (!this.#opts.resendUnacknowledged && !entry.sentWithIdem) {
        this.#settlePublish(entry, new WsagentError('disconnected', 'the connection was lost before the answer; it may have been published'));
      }
    }
    // The server closes with 1009 on a message larger than it takes: sending the likely
    // culprit again would loop.
    if (largest !== null) {
      this.#settlePublish(largest, new WsagentError('too_large', 'the server closed the connection (1009) on a message too large'));
    }
    for (const sub of this.#subs.values()) {
      sub._onDisconnect();
    }
  }

  // ---- frames in ----

  #onFrame(serial, data) {
    if (serial !== this.#serial) {
      return;
    }
    this.#lastReceived = now();
    this.#ping = null;  // any frame shows the connection is alive
    if (typeof data !== 'string') {
      if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
        return;  // binary frames are reserved
      }
      data = String(data);
    }
    let m;
    try {
      m = JSON.parse(data);
    } catch {
      this.#report('bad_frame', `not JSON: ${data.slice(0, 80)}`);
      return;
    }
    if (m === null || typeof m !== 'object') {
      return;
    }
    switch (m.op) {
      case 'msg':
        this.#onMsg(m);
        break;
      case 'ok':
      case 'err':
        this.#onReply(serial, m);
        break;
      case 'hello':
        this.#onHello(serial, m);
        break;
      case 'join':
      case 'leave':
        this.#subs.get(m.tag)?.emit(m.op, { tag: m.tag, who: m.who ?? {} });
        break;
      case 'gap':
        this.#onGapNotice(m);
        break;
      case 'reconnect':
        if (typeof m.within_ms === 'number' && m.within_ms >= 0) {
          this.#reconnectWithinMs = Math.min(m.within_ms, 600000);
          this.emit('draining', { withinMs: this.#reconnectWithinMs });
        }
        break;
      default:
        break;  // unknown ops are ignored (docs/protocol.md: clients ignore what they do not know)
    }
  }

  #onHello(serial, m) {
    if (this.#hello !== null) {
      // Once per connection: another would subscribe and resend everything again.
      this.#report('bad_frame', 'a second hello on the same connection');
      return;
    }
    this.#hello = m;
    this.#features = new Set(Array.isArray(m.features) ? m.features.filter((f) => typeof f === 'string') : []);
    if (this.#token === null) {
      this.#onConnected(serial);
      return;
    }
    this.#request({ op: 'auth', token: this.#token }, 'auth')
      .then(() => this.#guard(() => serial === this.#serial && this.#onConnected(serial)),
        (error) => {
          if (serial === this.#serial && error.code !== 'disconnected') {
            this.#authFailed = true;
            this.#report('auth', `the server refused the token: ${error.reason}`, error);
          }
        });
  }

  #onMsg(m) {
    if (typeof m.tag !== 'string' || typeof m.seq !== 'number') {
      this.#report('bad_frame', 'msg without tag or seq');
      return;
    }
    const message = { tag: m.tag, seq: m.seq, data: m.data };
    if (typeof m.ts === 'number') {
      message.ts = m.ts;
    }
    this.#subs.get(m.tag)?._deliver(message);
    for (const sub of this.#subs.values()) {
      if (sub.pattern && matchesPattern(sub.tag, m.tag)) {
        sub._deliver(message);
      }
    }
  }

  #onReply(serial, m) {
    const request = this.#requests.get(m.id);
    if (request === undefined) {
      if (m.op === 'err') {
        this.#report(m.code ?? 'internal', m.reason ?? 'error from the server');
      }
      return;
    }
    this.#requests.delete(m.id);
    if (request.kind === 'pub') {
      const entry = request.entry;
      if (m.op === 'ok') {
        this.#settlePublish(entry, null, m.seq);
      } else {
        this.#settlePublish(entry, new WsagentError(m.code ?? 'internal', m.reason));
      }
    } else if (request.kind === 'sub') {
      const { sub, sentSince, resubscribed } = request;
      if (this.#subs.get(sub.tag) !== sub) {
        return;  // unsubscribed meanwhile
      }
      if (m.op === 'ok') {
        sub._onOk(m, sentSince, resubscribed, this.#features);
      } else if (sub._onErr(new WsagentError(m.code ?? 'internal', m.reason))) {
        const delayMs = backoffDelayMs(2, this.#opts.minReconnectDelayMs, this.#opts.maxReconnectDelayMs, this.#opts.random);
        setTimeout(() => this.#guard(() => {
          if (serial === this.#serial && this.#state === 'connected' && this.#subs.get(sub.tag) === sub) {
            this.#sendSub(sub, resubscribed);
          }
        }), delayMs);
      }
    } else if (m.op === 'ok') {
      request.resolve?.(m);
    } else {
      request.reject?.(new WsagentError(m.code ?? 'internal', m.reason));
    }
  }

  /** The server may have lost messages for these subscriptions: recover what it can. */
  #onGapNotice(m) {
    if (!Array.isArray(m.tags)) {
      return;
    }
    for (const tag of m.tags) {
      const sub = this.#subs.get(tag);
      if (!sub || !sub._isActive()) {
        continue;
      }
      if (sub.pattern && !this.#features.has('pattern-since')) {
        sub._gap(tag, 'server');
      } else if (this.#state === 'connected') {
        this.#sendSub(sub, true);
      }
    }
  }

  // ---- frames out ----

  #send(object) {
    try {
      this.#ws.send(JSON.stringify(object));
      return true;
    } catch (error) {
      this.#report('socket', `send failed: ${error?.message ?? error}`, error);
      this.#drop(4000, 'send failed');
      return false;
    }
  }

  /** Sends a request with a fresh id; resolves with the `ok`, rejects with the `err`. */
  #request(frame, kind = 'request') {
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      this.#requests.set(id, { kind, resolve, reject });
      this.#send({ ...frame, id });
    });
  }

  #sendSub(sub, resubscribed) {
    const { frame, sentSince } = sub._frame(this.#features);
    const id = this.#nextId++;
    this.#requests.set(id, { kind: 'sub', sub, sentSince, resubscribed });
    this.#send({ ...frame, id });
  }

  #sendPublish(entry) {
    const id = this.#nextId++;
    entry.id = id;
    entry.serial = this.#serial;
    const withIdem = this.#features.has('idem');
    entry.sentWithIdem = entry.sentWithIdem || withIdem;
    this.#requests.set(id, { kind: 'pub', entry });
    const idem = withIdem ? `,"idem":${JSON.stringify(entry.idem)}` : '';
    try {
      this.#ws.send(`{"op":"pub","id":${id},"tag":${JSON.stringify(entry.tag)},"data":${entry.json}${idem}}`);
    } catch (error) {
      this.#report('socket', `send failed: ${error?.message ?? error}`, error);
      this.#drop(4000, 'send failed');
    }
  }

  #settlePublish(entry, error, seq) {
    if (!this.#queue.remove(entry)) {
      return;  // settled already (timeout, close)
    }
    clearTimeout(entry.timer);
    if (entry.id !== null) {
      this.#requests.delete(entry.id);
    }
    if (error) {
      entry.reject(error);
    } else {
      entry.resolve(seq);
    }
  }

  // ---- for subscriptions ----

  _unsubscribe(sub) {
    if (this.#subs.get(sub.tag) !== sub) {
      return;
    }
    this.#subs.delete(sub.tag);
    if (this.#state === 'connected') {
      this.#request({ op: 'unsub', tags: [sub.tag] }).catch(() => {});
    }
  }

  _presence(tag) {
    if (this.#state !== 'connected') {
      return Promise.reject(new WsagentError('disconnected', 'not connected'));
    }
    if (!this.#features.has('presence')) {
      return Promise.reject(new WsagentError('unsupported', 'the server does not offer presence'));
    }
    return this.#request({ op: 'presence', tag }).then((m) => ({ count: m.count ?? 0, who: m.who ?? [] }));
  }

  // ---- timers ----

  #scheduleRefresh(serial) {
    clearTimeout(this.#timers.refresh);
    this.#timers.refresh = null;
    const expMs = tokenExpiryMs(this.#token);
    if (typeof this.#opts.token !== 'function' || expMs === null) {
      return;  // a fixed token cannot be renewed: the server closes at exp (4001)
    }
    const delayMs = refreshDelayMs(Date.now(), expMs);
    this.#timers.refresh = setTimeout(() => this.#guard(() => this.#refresh(serial, expMs)), Math.min(delayMs, maxTimerMs));
  }

  async #refresh(serial, expMs) {
    let token;
    try {
      token = await this.#opts.token();
      if (typeof token !== 'string' || token === '') {
        throw new Error('no token');
      }
    } catch (error) {
      if (serial === this.#serial) {
        this.#report('auth', `the token provider failed: ${error?.message ?? error}`, error);
        const left = expMs - Date.now();
        if (left > 1000) {
          this.#timers.refresh = setTimeout(() => this.#guard(() => this.#refresh(serial, expMs)), Math.min(5000, left / 2));
        }
      }
      return;
    }
    if (serial !== this.#serial || this.#state !== 'connected') {
      return;
    }
    this.#request({ op: 'auth', token }, 'auth').then(() => this.#guard(() => {
      if (serial === this.#serial) {
        this.#token = token;
        this.#scheduleRefresh(serial);
        this.emit('token', { expiresAt: tokenExpiryMs(token) });
      }
    }), (error) => {
      if (error.code !== 'disconnected') {
        this.#report('auth', `the server refused the new token: ${error.reason}`, error);
      }
    });
  }

  #startHeartbeat(serial) {
    const tickMs = Math.min(5000, this.#opts.pingIntervalMs);
    this.#lastTick = Date.now();  // wall clock: it goes on while the machine sleeps
    this.#lastReceived = now();
    this.#timers.heartbeat = setInterval(() => this.#guard(() => {
      const wall = Date.now();
      const slept = wall - this.#lastTick > 2 * tickMs + 5000;  // timers stopped: sleep, frozen tab
      this.#lastTick = wall;
      const t = now();
      if (this.#ping !== null && t - this.#ping.sentAt > this.#opts.pongTimeoutMs) {
        this.#drop(4000, `no answer to a ping within ${this.#opts.pongTimeoutMs} ms`, serial);
      } else if (this.#ping === null && (slept || t - this.#lastReceived >= this.#opts.pingIntervalMs)) {
        this.#sendPing(serial);
      }
    }), tickMs);
  }

  #sendPing(serial) {
    if (serial !== this.#serial || this.#state !== 'connected' || this.#ping !== null) {
      return;
    }
    const id = this.#nextId++;
    this.#ping = { id, sentAt: now() };
    this.#requests.set(id, { kind: 'ping' });
    this.#send({ op: 'ping', id });
  }

  #clearTimers() {
    clearTimeout(this.#timers.retry);
    clearTimeout(this.#timers.connect);
    clearTimeout(this.#timers.refresh);
    clearInterval(this.#timers.heartbeat);
    this.#timers = { retry: null, connect: null, refresh: null, heartbeat: null };
  }

  // ---- small things ----

  #setState(state) {
    if (state !== this.#state) {
      const previous = this.#state;
      this.#state = state;
      this.emit('state', { state, previous });
    }
  }

  #report(code, reason, cause) {
    const error = new WsagentError(code, reason);
    if (cause !== undefined) {
      error.cause = cause;
    }
    this.emit('error', error);
  }

  /** Runs a callback from the network or a timer: nothing escapes to the caller. */
  #guard(fn) {
    try {
      const result = fn();
      if (result && typeof result.catch === 'function') {
        result.catch((error) => this.#report('internal', String(error?.message ?? error), error));
      }
    } catch (error) {
      this.#report('internal', String(error?.message ?? error), error);
    }
  }
}

function detach(ws) {
  ws.onmessage = null;
  ws.onclose = null;
  ws.onopen = null;
  // Some implementations (npm's ws) throw an error event nobody listens to when a socket
  // still connecting is closed: keep a listener.
  ws.onerror = ignore;
}

function ignore() {}

function now() {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}

function defaultUrl() {
  const loc = globalThis.location;
  if (!loc || !loc.host) {
    throw new TypeError('no server URL given (and no page location to derive one from)');
  }
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws`;
}

function randomKey() {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
