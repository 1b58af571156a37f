// Type declarations of wsagent-client (see README.md and docs/getting-started.md).

/** Protocol 1.1 features a server may list in `hello.features`. */
export type Feature = 'ts' | 'presence' | 'idem' | 'latest' | 'pattern-since' | 'gap' | (string & {});

export type ClientState = 'connecting' | 'connected' | 'disconnected';
export type SubscriptionState = 'subscribing' | 'subscribed' | 'failed' | 'unsubscribed';

/** Codes of WsagentError: the server's `err` codes and the library's own. */
export type ErrorCode =
  | 'bad_request' | 'unauthorized' | 'forbidden' | 'bad_tag' | 'too_large' | 'rate_limited'
  | 'unavailable' | 'internal'
  | 'queue_full' | 'closed' | 'timeout' | 'disconnected' | 'unsupported' | 'bad_frame'
  | 'listener' | 'auth' | 'socket'
  | (string & {});

export class WsagentError extends Error {
  constructor(code: ErrorCode, reason?: string);
  readonly code: ErrorCode;
  readonly reason: string;
}

/** A token, or a function giving one (called on every connect and before `exp`). */
export type TokenSource = string | (() => string | Promise<string>);

/** The subset of the WebSocket API the client uses (browsers' WebSocket, npm's ws). */
export interface WebSocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onopen: ((event: unknown) => void) | null;
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface ClientOptions {
  /** Sent in an `auth` frame after `hello` (never in the URL). Omit with `--no-auth` servers. */
  token?: TokenSource;
  /** Required where there is no global WebSocket (Node 20: `import WebSocket from 'ws'`). */
  WebSocket?: WebSocketConstructor;
  /** Default ['wsagent.v1']. */
  protocols?: string[];
  /** Backoff: the n-th retry waits random(0, min(max, min * 2^n)) ms. Defaults 500 and 20000. */
  minReconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** From the start of an attempt (token included) to `connected`. Default 10000. */
  connectTimeoutMs?: number;
  /** Ping after this long without a frame from the server. Default 20000. */
  pingIntervalMs?: number;
  /** Reconnect when a ping gets no answer within this. Default 10000. */
  pongTimeoutMs?: number;
  /** Unacknowledged publishes kept (sent or waiting); past it publish() rejects queue_full. Default 1000. */
  maxQueuedPublishes?: number;
  /** Their bytes. Default 4 MiB. */
  maxQueuedBytes?: number;
  /** Larger publishes are rejected with too_large before sending (match the server's --max-message-bytes). Default 65536. */
  maxMessageBytes?: number;
  /**
   * Resend publishes whose `ok` was lost with the connection. With a server offering `idem`
   * they are published once; without it they may be published twice. false: reject them with
   * `disconnected` instead (unless sent with an idem key). Default true.
   */
  resendUnacknowledged?: boolean;
  /** Per pattern subscription, concrete tags whose position is remembered. Default 1000. */
  maxTrackedTags?: number;
  /** For tests: the random source of the jitter. */
  random?: () => number;
}

export interface Hello {
  op: 'hello';
  node: string;
  conn: string;
  version: string;
  features?: Feature[];
  [field: string]: unknown;
}

export interface Message<T = unknown> {
  tag: string;
  seq: number;
  data: T;
  /** Publish time in ms since the Unix epoch (protocol 1.1 `ts`). */
  ts?: number;
}

export interface Position {
  seq: number;
  epoch: string | null;
}

export interface SubscribeOptions {
  /**
   * Exact tag: deliver retained messages after this seq first (0: everything retained);
   * {seq, epoch} also detects a restarted numbering. Pattern (with `pattern-since`): {ts}.
   */
  since?: number | { seq: number; epoch?: string } | { ts: number };
  /** join/leave events (protocol 1.1 `presence`; ignored by servers without it). */
  presence?: boolean;
  /** 'latest': at most one message per intervalMs, the newest (protocol 1.1; ignored without it). */
  mode?: 'all' | 'latest';
  intervalMs?: number;
  /** Overrides ClientOptions.maxTrackedTags for this pattern. */
  maxTrackedTags?: number;
}

export interface Who {
  sub?: string;
  conn: string;
  /** wsagent adds the member's node: `conn` names are unique only within their node. */
  node?: string;
  info?: Record<string, unknown>;
}

export interface SubscribedEvent {
  tag: string;
  /** Exact tags: the tag's top seq when subscribed. */
  seq?: number;
  epoch?: string | null;
  /** `since` was sent and everything after it was replayed. */
  recovered: boolean;
  /** A re-subscription (after a reconnect or a gap notice). */
  resubscribed: boolean;
}

export interface GapEvent {
  /** The tag (or pattern) whose missed messages could not all be replayed. */
  tag: string;
  subscription: Subscription;
  /** 'history' (trimmed or a new epoch), 'pattern_recovery_unsupported', 'server'. */
  reason: string;
}

export interface SubscriptionEvents<T = unknown> {
  message: Message<T>;
  subscribed: SubscribedEvent;
  gap: GapEvent;
  join: { tag: string; who: Who };
  leave: { tag: string; who: Who };
  error: WsagentError;
  state: { state: SubscriptionState; previous: SubscriptionState };
}

export interface ClientEvents {
  state: { state: ClientState; previous: ClientState };
  connected: { hello: Hello; reconnected: boolean };
  /** The connection was lost; a new attempt starts in delayMs. */
  connecting: { code: number; reason: string; delayMs: number };
  /** Stopped for good: close(), or a fixed token the server refuses. */
  disconnected: { code: number; reason: string };
  /** The token was refreshed on the open connection. */
  token: { expiresAt: number | null };
  /** The server is draining and asked to reconnect within withinMs (protocol 1.1). */
  draining: { withinMs: number };
  error: WsagentError;
}

declare class Emitter<Events> {
  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void;
  once<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void;
  off<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): void;
  listenerCount(event: keyof Events): number;
}

export class Subscription<T = unknown> extends Emitter<SubscriptionEvents<T>> {
  private constructor();
  readonly tag: string;
  readonly pattern: boolean;
  readonly state: SubscriptionState;
  /** Exact tags: the last delivered position (what a reconnect asks `since`). */
  readonly position: Position | null;
  /** Patterns: concrete tags whose position is remembered (at most maxTrackedTags). */
  readonly trackedTags: number;
  ready(): Promise<this>;
  unsubscribe(): void;
  /** Protocol 1.1 `presence`; rejects `unsupported` without it. */
  presence(): Promise<{ count: number; who: Who[] }>;
}

export interface PublishOptions {
  /** Your own idempotency key (default: a random one per publish, sent when the server offers idem). */
  idem?: string;
  /** Reject with `timeout` if not acknowledged within this (the message may still be published). */
  timeoutMs?: number;
}

export interface ClientStats {
  queuedPublishes: number;
  queuedBytes: number;
  pendingRequests: number;
  subscriptions: number;
  trackedTags: number;
}

export class Client extends Emitter<ClientEvents> {
  /** url: ws(s)://host/ws; in a browser it defaults to the page's host. */
  constructor(url?: string, options?: ClientOptions);
  readonly state: ClientState;
  readonly hello: Hello | null;
  readonly features: ReadonlySet<Feature>;
  connect(): this;
  close(): void;
  subscribe<T = unknown>(tag: string, options?: SubscribeOptions): Subscription<T>;
  getSubscription<T = unknown>(tag: string): Subscription<T> | null;
  subscriptions(): Subscription[];
  /** Resolves with the message's seq. */
  publish(tag: string, data: unknown, options?: PublishOptions): Promise<number>;
  /** Round trip in ms. */
  ping(): Promise<number>;
  stats(): ClientStats;
}

export function isPattern(tag: string): boolean;
export function matchesPattern(pattern: string, tag: string): boolean;
export function isValidTag(tag: string, allowWildcards: boolean): boolean;
/** A JWT's `exp` in ms (unverified), or null. */
export function tokenExpiryMs(token: string): number | null;
