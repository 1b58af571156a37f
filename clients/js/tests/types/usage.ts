// Compiled (not run) by types.test.mjs with tsc --strict: the declarations in index.d.ts
// must describe the library the way the guide uses it, and refuse what it refuses.
import { Client, WsagentError, type Message, type ClientState } from '../../index.js';

interface Chat {
  from: string;
  text: string;
}

const client = new Client('ws://127.0.0.1:8080/ws', { token: async () => 'jwt', maxQueuedPublishes: 10 });
const state: ClientState = client.state;
const room = client.subscribe<Chat>('chat.lobby', { since: { seq: 41, epoch: '9f2c' }, presence: true });
room.on('message', (m: Message<Chat>) => m.data.text.toUpperCase());
room.on('gap', ({ tag, reason }) => `${tag}${reason}`);
room.on('join', ({ who }) => who.conn);
const off: () => void = client.on('connecting', ({ delayMs, code }) => delayMs + code);
off();
client.on('error', (e: WsagentError) => e.code);
const seq: Promise<number> = client.publish('chat.lobby', { text: 'hi' }, { timeoutMs: 1000 });
void seq.then((n) => n + 1);
void room.presence().then(({ count, who }) => count + who.length);
const features: ReadonlySet<string> = client.features;
void state;
void features;
client.connect().close();

// @ts-expect-error: events are checked by name
client.on('mesage', () => {});
// @ts-expect-error: publish resolves with a number
const wrong: Promise<string> = client.publish('a.b', 1);
void wrong;
