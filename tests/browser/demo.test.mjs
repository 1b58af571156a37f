// The three demo applications in headless Chromium (Debian's package, driven by npm's
// playwright-core) against the real server with Redis and the demo's device simulator:
// two chat pages talk and see each other, the IoT board shows the values of WebSocket and
// MQTT devices (MQTT.js over /mqtt, mosquitto_pub over TCP) and a command reaches its device
// over either protocol, the dashboard's charts move, and after the server is killed and
// restarted every page recovers what was sent while it was away. Screenshots go to
// $WSAGENT_ARTIFACTS. Where Chromium cannot start, the test fails and says why.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { Server, makeKeys, startRedis, waitFor } from '../../clients/js/tests/harness.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const site = process.env.WSAGENT_DEMO_SITE ?? path.join(repo, 'build/demo-site');
const artifacts = process.env.WSAGENT_ARTIFACTS ?? path.join(repo, 'build/browser-artifacts');
const chromiumPath = process.env.WSAGENT_CHROMIUM ?? '/usr/bin/chromium';
const chromiumFlags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

test('demo applications in headless Chromium', { timeout: 240000 }, async (t) => {
  assert.ok(existsSync(path.join(site, 'chat/index.html')),
    `no demo site at ${site}: build the demo_site target (cmake --build build)`);
  assert.ok(existsSync(chromiumPath),
    `Chromium not found at ${chromiumPath}: scripts/install-deps.sh installs Debian's chromium package`);
  mkdirSync(artifacts, { recursive: true });
  // Cleanups run last-registered first (the browser closes before its profile is removed);
  // a failing one (a server's sanitizer report) still fails the test.
  const cleanups = [];
  const defer = (cleanup) => cleanups.push(cleanup);
  t.after(async () => {
    let failure = null;
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure) throw failure;
  });
  const work = mkdtempSync(path.join(os.tmpdir(), 'wsa-browser-'));
  defer(() => rmSync(work, { recursive: true, force: true, maxRetries: 5 }));

  // ---- the back end: Redis, a node serving the site, tokens, simulated devices ----
  const redis = await startRedis(t, work);
  const keys = await makeKeys(work);
  const serverArgs = ['--broker', redis.url, '--static', site, '--stats-tag', 'sys.wsagent.stats',
    '--mqtt-listen', '127.0.0.1:0', '--mqtt-ws'];
  let server = await Server.start({ jwks: keys.jwks, args: serverArgs });
  defer(() => server.stop('SIGKILL'));
  const origin = `http://127.0.0.1:${server.port}`;
  const pageToken = (name) => keys.mint({ sub: name, pub: ['chat.>', 'iot.*.cmd'], subscribe: ['chat.>', 'iot.>', 'sys.>'] });
  const deviceToken = (d) => keys.mint({ sub: `device-${d}`, pub: [`iot.${d}.telemetry`], subscribe: [`iot.${d}.cmd`] });
  const devices = ['d1', 'd2', 'm1'];  // m1 speaks MQTT (MQTT.js over WebSocket at /mqtt)
  writeFileSync(path.join(work, 'devices.txt'), `d1 ${await deviceToken('d1')}\nd2 ${await deviceToken('d2')}\n`);
  writeFileSync(path.join(work, 'mqtt-devices.txt'), `m1 ${await deviceToken('m1')}\n`);
  const simulator = spawn(process.execPath, [path.join(repo, 'demo/iot/devices.mjs'), '--url', `ws://127.0.0.1:${server.port}/ws`,
    '--tokens', path.join(work, 'devices.txt'), '--mqtt-url', `ws://127.0.0.1:${server.port}/mqtt`,
    '--mqtt-tokens', path.join(work, 'mqtt-devices.txt'), '--interval-ms', '300'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let deviceLog = '';
  simulator.stdout.on('data', (b) => (deviceLog += b));
  simulator.stderr.on('data', (b) => (deviceLog += b));
  defer(() => simulator.kill('SIGKILL'));

  // ---- the browser ----
  let context;
  try {
    context = await chromium.launchPersistentContext(path.join(work, 'profile'), {
      executablePath: chromiumPath, headless: true, args: chromiumFlags, viewport: { width: 1200, height: 760 },
      timeout: 60000,
    });
  } catch (error) {
    assert.fail(`Chromium could not start (${chromiumPath}): ${error.message}`);
  }
  defer(() => context.close());
  const problems = [];
  const open = async (app, name) => {
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`${app}: ${error.message}`));
    await page.goto(`${origin}/${app}/#token=${await pageToken(name)}&name=${name}`);
    await page.waitForSelector('#connection[data-state=connected]', { timeout: 20000 });
    assert.equal(new URL(page.url()).hash, '', 'the token must leave the address bar');
    return page;
  };
  const texts = (page, selector) => page.$$eval(selector, (nodes) => nodes.map((n) => n.textContent));
  let chat = null;  // the two chat pages, used again after the restart
  const countOf = async (page, text) => (await texts(page, '#messages li .text')).filter((x) => x === text).length;

  await t.test('two chat pages exchange messages and see each other', async () => {
    const alice = await open('chat', 'alice');
    const bob = await open('chat', 'bob');
    await alice.fill('#text', 'hello from alice');
    await alice.press('#text', 'Enter');
    await bob.waitForFunction(() => [...document.querySelectorAll('#messages li .text')].some((n) => n.textContent === 'hello from alice'));
    await bob.fill('#text', 'hi alice, bob here');
    await bob.press('#text', 'Enter');
    await alice.waitForFunction(() => [...document.querySelectorAll('#messages li .text')].some((n) => n.textContent === 'hi alice, bob here'));
    await alice.waitForFunction(() => document.querySelector('#online').textContent.includes('bob'), null, { timeout: 20000 });
    await bob.waitForFunction(() => document.querySelector('#online').textContent.includes('alice'), null, { timeout: 20000 });
    await alice.screenshot({ path: path.join(artifacts, 'chat.png') });
    chat = { alice, bob };
  });

  await t.test('the IoT board shows WebSocket and MQTT devices and commands reach them', async () => {
    const board = await open('iot', 'operator');
    const temperatureShown = (id) => board.waitForFunction((device) => {
      const value = document.querySelector(`article[data-device="${device}"] dd[data-field=temperature]`);
      return value && value.textContent.endsWith('°C');
    }, id, { timeout: 20000 });
    for (const d of devices) {
      await temperatureShown(d);
    }
    assert.equal(await board.textContent('article[data-device="m1"] .via'), 'MQTT');
    for (const d of ['d1', 'm1']) {
      await board.click(`article[data-device="${d}"] button:text("LED on")`);
      const logged = new RegExp(`${d}: command \\{"command":"led","value":"on"`);
      await waitFor(() => logged.test(deviceLog), 10000, () => `the command in the device log: ${deviceLog}`);
      await board.waitForSelector(`article[data-device="${d}"] .led[data-on=true]`, { timeout: 10000 });
    }
    assert.match(deviceLog, /m1: command .* \(mqtt\)/);
    assert.equal(await board.getAttribute('article[data-device="d2"] .led', 'data-on'), 'false');
    assert.doesNotMatch(deviceLog, /d2: command/);  // d2 cannot read d1's commands
    // A reading from a shell over MQTT/TCP, with the device's own token as the password.
    const mqttPort = / mqtt=127\.0\.0\.1:(\d+)/.exec(server.log)?.[1];
    assert.ok(mqttPort, `no mqtt= in the listening line: ${server.log}`);
    const shell = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', mqttPort, '-u', 'device-m9', '-P', await deviceToken('m9'),
      '-q', '1', '-t', 'iot/m9/telemetry', '-m', '{"temperature":30.5,"humidity":40}'], { stdio: ['ignore', 'pipe', 'pipe'] });
    defer(() => shell.kill('SIGKILL'));
    let shellLog = '';
    shell.stdout.on('data', (b) => (shellLog += b));
    shell.stderr.on('data', (b) => (shellLog += b));
    const exitCode = await new Promise((resolve) => {
      shell.on('exit', resolve);
      shell.on('error', (error) => resolve(`${error.message} (scripts/install-deps.sh installs mosquitto-clients)`));
    });
    assert.equal(exitCode, 0, `mosquitto_pub: ${shellLog}`);
    await board.waitForFunction(() => document.querySelector('article[data-device="m9"] dd[data-field=temperature]')
      ?.textContent === '30.5 °C', null, { timeout: 10000 });
    await board.screenshot({ path: path.join(artifacts, 'iot.png') });
  });

  await t.test('the library in a page reconnects at once when the network is back or the page is shown', async () => {
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`library page: ${error.message}`));
    await page.goto(`${origin}/`);
    await page.evaluate(async (token) => {
      const { Client } = await import('/lib/wsagent/index.js');
      // After a loss its backoff would wait ten minutes: only the browser's signals bring it back sooner.
      const client = new Client(undefined, { token, minReconnectDelayMs: 600000, maxReconnectDelayMs: 600000, random: () => 0.99 });
      window.libClient = client;
      await new Promise((resolve) => {
        client.once('connected', resolve);
        client.connect();
      });
    }, await pageToken('library'));
    const state = (wanted) => page.waitForFunction((s) => window.libClient.state === s, wanted, { timeout: 20000 });
    // The browser goes offline: the client lets its socket go at once, and comes back as soon as
    // the browser is online again.
    await context.setOffline(true);
    try {
      await state('connecting');
    } finally {
      await context.setOffline(false);  // whatever happens: the other pages need the network
    }
    await state('connected');
    // The connection is lost while the page is hidden (here: only the offline event, the network
    // stays up); the page becomes visible again (a laptop waking up): it reconnects then.
    await page.evaluate(() => window.dispatchEvent(new Event('offline')));
    await state('connecting');
    await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
    await state('connected');
    await page.evaluate(() => window.libClient.close());
    await page.close();
  });

  await t.test('the dashboard charts the node and the devices', async () => {
    const dashboard = await open('dashboard', 'viewer');
    await dashboard.waitForFunction(() => window.dashboard.connections.updates >= 3 && window.dashboard.messages.updates >= 2
      && window.dashboard.telemetry?.updates >= 2, null, { timeout: 20000 });
    const before = await dashboard.evaluate(() => window.dashboard.connections.updates);
    await dashboard.waitForFunction((n) => window.dashboard.connections.updates > n, before, { timeout: 10000 });
    assert.ok(await dashboard.$$eval('.chart canvas', (c) => c.length) >= 4);
    assert.match(await dashboard.textContent('#shards'), /total/);
    await dashboard.screenshot({ path: path.join(artifacts, 'dashboard.png') });
  });

  await t.test('after the server is killed and restarted, the pages recover what was sent meanwhile', async () => {
    assert.ok(chat, 'the chat pages did not open');
    const { alice, bob } = chat;
    const port = server.port;
    await server.stop('SIGKILL');
    await alice.waitForSelector('#connection[data-state=connecting]', { timeout: 20000 });
    await bob.waitForSelector('#connection[data-state=connecting]', { timeout: 20000 });
    // Alice writes while offline: the message waits in her client's queue.
    await alice.fill('#text', 'written while offline');
    await alice.press('#text', 'Enter');
    // Meanwhile a backend publishes through another node of the same Redis.
    const other = await Server.start({ jwks: keys.jwks, args: ['--broker', redis.url] });
    defer(() => other.stop('SIGKILL'));
    const backend = await keys.mint({ sub: 'backend', pub: ['chat.>'] });
    for (let i = 1; i <= 3; i++) {
      const response = await fetch(`http://127.0.0.1:${other.port}/api/publish`, {
        method: 'POST', headers: { Authorization: `Bearer ${backend}` },
        body: JSON.stringify({ tag: 'chat.lobby', data: { from: 'backend', text: `missed ${i}`, at: Date.now() } }),
      });
      assert.equal(response.status, 200, await response.text());
    }
    server = await Server.start({ port, jwks: keys.jwks, args: serverArgs });
    for (const page of [alice, bob]) {
      await page.waitForSelector('#connection[data-state=connected]', { timeout: 30000 });
      await page.waitForFunction(() => {
        const all = [...document.querySelectorAll('#messages li .text')].map((n) => n.textContent);
        return ['missed 1', 'missed 2', 'missed 3', 'written while offline'].every((x) => all.includes(x));
      }, null, { timeout: 20000 });
    }
    await bob.waitForTimeout(300);  // anything duplicated would have arrived by now
    for (const page of [alice, bob]) {
      for (const text of ['missed 1', 'missed 2', 'missed 3', 'written while offline', 'hello from alice']) {
        assert.equal(await countOf(page, text), 1, `${text} once`);
      }
      assert.equal(await page.$$eval('#messages li.gap', (n) => n.length), 0, 'Redis kept the history: no gap');
      assert.equal(await page.$$eval('#messages li.pending', (n) => n.length), 0);
    }
    const order = (await texts(bob, '#messages li .text')).filter((x) => x.startsWith('missed'));
    assert.deepEqual(order, ['missed 1', 'missed 2', 'missed 3']);
    await bob.screenshot({ path: path.join(artifacts, 'chat-recovered.png') });
  });

  assert.deepEqual(problems, [], 'no uncaught errors in the pages');
});
