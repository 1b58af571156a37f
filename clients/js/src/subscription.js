// One subscription of a Client: a tag or a pattern, its events, and what it knows of its
// position in the tag's numbering so that a re-subscription after a disconnect asks for
// exactly what was missed (`since` with `seq` and `epoch`), drops what it already had, and
// reports what cannot be recovered as a `gap`.
//
// Created by Client.subscribe(); the methods starting with `_` are the client's business.

import { Emitter } from './emitter.js';
import { WsagentError } from './errors.js';
import { isPattern } from './tags.js';

const retryable = new Set(['rate_limited', 'unavailable', 'internal']);

export class Subscription extends Emitter {
  #client;
  #options;
  #state = 'subscribing';
  // Exact tags: the last seq delivered (null: no position yet) and the epoch it belongs to.
  #seq = null;
  #epoch = null;
  // Patterns: per concrete tag {seq, epoch}, least recently updated first, bounded; and the
  // newest publish time seen (protocol 1.1 `ts`), for the pattern form of `since`.
  #positions = new Map();
  #lastTs = null;
  #confirmed = false;
  #failure = null;
  #waiters = [];

  constructor(client, tag, options, onListenerError) {
    super(onListenerError);
    this.#client = client;
    this.tag = tag;
    this.pattern = isPattern(tag);
    this.#options = options;
    const since = options.since;
    if (since !== undefined && since !== null) {
      if (this.pattern) {
        if (typeof since === 'object' && typeof since.ts === 'number') {
          this.#lastTs = since.ts;
        }
      } else if (typeof since === 'number') {
        this.#seq = since;
      } else if (typeof since === 'object' && typeof since.seq === 'number') {
        this.#seq = since.seq;
        this.#epoch = typeof since.epoch === 'string' ? since.epoch : null;
      }
    }
  }

  /** 'subscribing' | 'subscribed' | 'failed' | 'unsubscribed' */
  get state() {
    return this.#state;
  }

  /** Exact tags: {seq, epoch} of the last message delivered (or the top when subscribed). */
  get position() {
    if (this.pattern || this.#seq === null) {
      return null;
    }
    return { seq: this.#seq, epoch: this.#epoch };
  }

  /** Patterns: how many concrete tags' positions are remembered (bounded). */
  get trackedTags() {
    return this.#positions.size;
  }

  /** Resolves once subscribed (at once if already); rejects if it fails or is ended. */
  ready() {
    if (this.#state === 'subscribed') {
      return Promise.resolve(this);
    }
    if (this.#state === 'failed' || this.#state === 'unsubscribed') {
      return Promise.reject(this.#failure ?? new WsagentError('closed', `subscription to ${this.tag} is ${this.#state}`));
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Ends the subscription (no more events); the server is told when connected. */
  unsubscribe() {
    if (this.#state === 'unsubscribed') {
      return;
    }
    this.#setState('unsubscribed');
    this.#settle(new WsagentError('closed', `unsubscribed from ${this.tag}`));
    this.#client._unsubscribe(this);
  }

  /**
   * Who is subscribed to this exact tag, all nodes together (protocol 1.1 `presence`):
   * resolves {count, who}; rejects with `unsupported` when the server does not offer it.
   */
  presence() {
    if (this.pattern) {
      return Promise.reject(new WsagentError('unsupported', 'presence needs an exact tag'));
    }
    return this.#client._presence(this.tag);
  }

  // ---- for the client ----

  /** The `sub` frame (without id) for the current connection, and whether it carries since. */
  _frame(features) {
    const frame = { op: 'sub', tags: [this.tag] };
    let since = null;
    if (!this.pattern) {
      if (this.#seq !== null) {
        since = this.#epoch ? { seq: this.#seq, epoch: this.#epoch } : this.#seq;
      }
    } else if (features.has('pattern-since') && (this.#confirmed || this.#lastTs !== null)) {
      const tags = {};
      for (const [tag, p] of this.#positions) {
        tags[tag] = p.epoch ? { seq: p.seq, epoch: p.epoch } : p.seq;
      }
      since = { tags };
      if (this.#lastTs !== null) {
        since.ts = this.#lastTs;
      }
    }
    if (since !== null) {
      frame.since = { [this.tag]: since };
    }
    const o = this.#options;
    if (o.presence && !this.pattern && features.has('presence')) {
      frame.presence = true;
    }
    if (o.mode === 'latest' && features.has('latest')) {
      frame.mode = 'latest';
      frame.interval_ms = Math.min(60000, Math.max(10, Math.round(o.intervalMs ?? 1000)));
    }
    return { frame, sentSince: since !== null };
  }

  /** The server's `ok` for our `sub`. */
  _onOk(reply, sentSince, resubscribed, features) {
    if (this.#state === 'unsubscribed' || this.#state === 'failed') {
      return;
    }
    const tops = isObject(reply.seq) ? reply.seq : {};
    const epochs = isObject(reply.epoch) ? reply.epoch : {};
    const gaps = Array.isArray(reply.gaps) ? reply.gaps : [];
    const wasConfirmed = this.#confirmed;
    this.#confirmed = true;
    let top;
    let epoch;
    if (!this.pattern) {
      top = typeof tops[this.tag] === 'number' ? tops[this.tag] : 0;
      epoch = typeof epochs[this.tag] === 'string' ? epochs[this.tag] : null;
      const gap = gaps.includes(this.tag);
      if (!sentSince) {
        this.#seq = top;  // nothing older was asked for
      } else if (gap && ((this.#epoch && epoch && epoch !== this.#epoch) || this.#seq > top)) {
        this.#seq = 0;  // a new numbering: whatever is replayed now is new to us
      }
      this.#epoch = epoch ?? this.#epoch;
    } else if (sentSince) {
      for (const tag of [...this.#positions.keys()]) {
        if (typeof tops[tag] !== 'number') {
          // Not replayed: nothing new, or a numbering that restarted with nothing retained to
          // show it. Where messages carry `ts`, the position stays (named in the next `since`,
          // so that nothing is replayed twice) and a newer `ts` tells a new numbering's
          // messages from duplicates (_deliver); without `ts` it is forgotten.
          if (!features.has('ts')) {
            this.#positions.delete(tag);
          }
        } else {
          const p = this.#positions.get(tag);
          const e = typeof epochs[tag] === 'string' ? epochs[tag] : null;
          if (gaps.includes(tag) || (p.epoch && e && p.epoch !== e)) {
            p.seq = 0;
          }
          p.epoch = e ?? p.epoch;
        }
      }
    } else {
      this.#positions.clear();
    }
    this.#setState('subscribed');
    this.#settle(null);
    this.emit('subscribed', { tag: this.tag, seq: top, epoch, recovered: sentSince && gaps.length === 0, resubscribed });
    if (this.pattern && resubscribed && wasConfirmed && !features.has('pattern-since')) {
      this._gap(this.tag, 'pattern_recovery_unsupported');
    }
    for (const tag of gaps) {
      this._gap(tag, 'history');
    }
  }

  /** The server's `err` for our `sub`: true when it is worth sending again later. */
  _onErr(error) {
    if (retryable.has(error.code)) {
      this.emit('error', error);
      return true;
    }
    this.#failure = error;
    this.#setState('failed');
    this.#settle(error);
    this.emit('error', error);
    return false;
  }

  /** A `msg` for a tag this subscription covers: delivers it unless already delivered. */
  _deliver(message) {
    if (this.#state === 'unsubscribed' || this.#state === 'failed') {
      return;
    }
    if (!this.pattern) {
      if (this.#seq !== null && message.seq <= this.#seq) {
        return;
      }
      this.#seq = message.seq;
    } else {
      const p = this.#positions.get(message.tag);
      // Within one numbering `ts` never decreases as `seq` grows: an older seq with a newer
      // ts belongs to a numbering that restarted.
      const newer = typeof message.ts === 'number' && typeof p?.ts === 'number' && message.ts > p.ts;
      if (p && message.seq <= p.seq && !newer) {
        return;
      }
      // After a restart seen that way the epoch is unknown until the server names it again.
      const epoch = p && message.seq > p.seq ? p.epoch : null;
      this.#remember(message.tag, message.seq, epoch, message.ts);
      if (typeof message.ts === 'number' && (this.#lastTs === null || message.ts > this.#lastTs)) {
        this.#lastTs = message.ts;
      }
    }
    this.emit('message', message);
  }

  _gap(tag, reason) {
    this.emit('gap', { tag, subscription: this, reason });
  }

  _onDisconnect() {
    if (this.#state === 'subscribed') {
      this.#setState('subscribing');
    }
  }

  _isActive() {
    return this.#state === 'subscribing' || this.#state === 'subscribed';
  }

  #remember(tag, seq, epoch, ts) {
    this.#positions.delete(tag);
    this.#positions.set(tag, { seq, epoch, ts });
    const max = this.#options.maxTrackedTags;
    while (this.#positions.size > max) {
      this.#positions.delete(this.#positions.keys().next().value);
    }
  }

  #setState(state) {
    if (state !== this.#state) {
      const previous = this.#state;
      this.#state = state;
      this.emit('state', { state, previous });
    }
  }

  #settle(error) {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) {
      if (error) {
        w.reject(error);
      } else {
        w.resolve(this);
      }
    }
  }
}

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
