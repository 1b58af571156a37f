// Test fixtures: the real wsagent binary (keys and tokens from `wsagent keygen`/`token`),
// a real redis-server, and a TCP proxy that can cut or silence connections the way a
// network does. Everything listens on 127.0.0.1 only and is stopped by the tests.

import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import WebSocket from 'ws';

import { Client } from '../src/index.js';

const run = promisify(execFile);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export const binary = process.env.WSAGENT_BINARY ?? path.join(repo, 'build/wsagent');
if (!existsSync(binary)) {
  throw new Error(`wsagent binary not found at ${binary}: build it (cmake --build build) or set WSAGENT_BINARY`);
}

/** A temporary directory removed by cleanup(). */
export function tempDir(t) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wsa-js-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A key pair from `wsagent keygen`, and a token minter using `wsagent token`. */
export async function makeKeys(dir) {
  const privateKey = path.join(dir, 'private.jwk');
  const jwks = path.join(dir, 'jwks.json');
  await run(binary, ['keygen', '--out-private', privateKey, '--out-jwks', jwks]);
  const mint = async ({ sub = 'tester', pub = ['>'], subscribe = ['>'], ttl = '1h' } = {}) => {
    const args = ['token', '--key', privateKey, '--sub', sub, '--ttl', ttl];
    for (const p of pub) args.push('--pub', p);
    for (const s of subscribe) args.push('--subscribe', s);
    const { stdout } = await run(binary, args);
    return stdout.trim();
  };
  return { privateKey, jwks, mint };
}

/** `wsagent serve` on 127.0.0.1 (a free port unless `port` is given). */
export class Server {
  static async start({ port = 0, args = [], jwks = null } = {}) {
    const server = new Server();
    const all = ['serve', '--listen', `127.0.0.1:${port}`, '--shards', '1', '--no-pin', ...args];
    if (jwks) {
      all.push('--jwks', jwks);
    } else if (!args.includes('--no-auth')) {
      all.push('--no-auth');
    }
    // Only PATH and the sanitizers' settings: WSAGENT_* variables must not configure it.
    const env = { PATH: process.env.PATH };
    for (const name of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS']) {
      if (process.env[name] !== undefined) env[name] = process.env[name];
    }
    server.process = spawn(binary, all, { stdio: ['ignore', 'pipe', 'pipe'], env });
    server.log = '';
    server.process.stdout.on('data', (b) => (server.log += b));
    server.process.stderr.on('data', (b) => (server.log += b));
    server.exited = new Promise((resolve) => server.process.on('exit', (code, signal) => resolve({ code, signal })));
    const listening = /msg=listening addr=127\.0\.0\.1:(\d+)/;
    try {
      await waitFor(() => listening.test(server.log) || server.process.exitCode !== null, 10000,
        () => `wsagent to start: ${server.log}`);
    } catch (error) {
      server.process.kill('SIGKILL');  // never leave it running
      throw error;
    }
    const match = listening.exec(server.log);
    if (!match) {
      throw new Error(`wsagent exited: ${server.log}`);
    }
    server.port = Number(match[1]);
    server.url = `ws://127.0.0.1:${server.port}/ws`;
    return server;
  }

  /**
   * SIGTERM (drain) or another signal; resolves when the process is gone. Throws when the
   * server's output holds a sanitizer report or a failed check (tests of an ASan build).
   */
  async stop(signal = 'SIGTERM') {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      this.process.kill(signal);
    }
    const exit = await this.exited;
    const report = /(ERROR: (Address|Leak)Sanitizer|runtime error:|check failed)[^\n]*/i.exec(this.log);
    if (report) {
      throw new Error(`wsagent reported: ${report[0]}\n${this.log.slice(-4000)}`);
    }
    return exit;
  }
}

/** redis-server on a free port, without persistence; restart() kills it and starts a new one there. */
export async function startRedis(t, dir) {
  const port = await freePort();
  let proc = null;
  const launch = async () => {
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
      '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    proc.stdout.on('data', (b) => (log += b));
    proc.stderr.on('data', (b) => (log += b));
    const p = proc;
    await waitFor(() => log.includes('Ready to accept connections') || p.exitCode !== null, 10000,
      () => `redis-server did not start: ${log}`);
    if (p.exitCode !== null) {
      throw new Error(`redis-server exited: ${log}`);
    }
  };
  t.after(() => proc?.kill('SIGKILL'));
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async restart() {
      const old = proc;
      const gone = new Promise((resolve) => old.on('exit', resolve));
      old.kill('SIGKILL');
      await gone;
      await launch();
    },
  };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/**
 * A TCP proxy in front of a server, standing for the network: `forward` passes bytes,
 * `silence` swallows them both ways (a dead link that still looks open), `deafen` passes
 * the client's bytes but swallows the server's (requests arrive, answers are lost),
 * `refuse` cuts every connection and refuses new ones.
 */
export class Proxy {
  static async start(t, targetPort) {
    const proxy = new Proxy();
    proxy.targetPort = targetPort;
    proxy.mode = 'forward';
    proxy.sockets = new Set();
    proxy.accepted = 0;
    proxy.server = net.createServer((client) => proxy.#accept(client));
    await new Promise((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.port = proxy.server.address().port;
    proxy.url = `ws://127.0.0.1:${proxy.port}/ws`;
    t.after(() => proxy.close());
    return proxy;
  }

  #accept(client) {
    if (this.mode === 'refuse') {
      client.destroy();
      return;
    }
    this.accepted++;
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    for (const [from, to] of [[client, upstream], [upstream, client]]) {
      this.sockets.add(from);
      from.on('data', (bytes) => {
        if (this.mode === 'forward' || (this.mode === 'deafen' && from === client)) {
          to.write(bytes);
        }
      });
      from.on('error', () => {});
      from.on('close', () => {
        this.sockets.delete(from);
        to.destroy();
      });
    }
  }

  /** New connections go to `port` (a balancer taking a node out); open ones stay. */
  retarget(port) {
    this.targetPort = port;
  }

  set(mode) {
    this.mode = mode;
    if (mode === 'refuse') {
      for (const s of this.sockets) {
        s.destroy();
      }
    }
  }

  close() {
    this.set('refuse');
    this.server.close();
  }
}

/** A Client using npm's ws (Node 20 has no global WebSocket), closed after the test. */
export function client(t, url, options = {}) {
  const c = new Client(url, { WebSocket, ...options });
  t.after(() => c.close());
  return c;
}

/** Resolves with the next `event` of `emitter` (rejects after `timeoutMs`). */
export function next(emitter, event, timeoutMs = 10000, filter = () => true) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no "${event}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = emitter.on(event, (payload) => {
      if (filter(payload)) {
        clearTimeout(timer);
        off();
        resolve(payload);
      }
    });
  });
}

/** Polls `predicate` until it holds (rejects after `timeoutMs` with `describe()`). */
export async function waitFor(predicate, timeoutMs = 10000, describe = () => 'condition') {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${describe()}`);
    }
    await sleep(20);
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Connects `c` and waits until it is connected. */
export async function connected(c) {
  if (c.state !== 'connected') {
    const done = next(c, 'connected');
    c.connect();
    await done;
  }
  return c;
}

/** Collects a subscription's messages. */
export function collect(sub) {
  const messages = [];
  const gaps = [];
  sub.on('message', (m) => messages.push(m));
  sub.on('gap', (g) => gaps.push(g));
  return { messages, gaps };
}

/** The features the server at `url` lists in hello (protocol 1.1), read with a bare ws. */
export async function serverFeatures(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('message', (data) => {
      const hello = JSON.parse(String(data));
      ws.close();
      resolve(new Set(hello.features ?? []));
    });
    ws.on('error', reject);
  });
}
