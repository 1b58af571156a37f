// The Node half of jose_test.sh: checks wsagent's tokens and key files with the npm `jose`
// package, and wsagent's server with tokens and keys that `jose` made. Each command prints
// one "ok: ..." line per check and exits non-zero (with "FAIL: ...") at the first failure.
//
//   node jose_interop.mjs verify-wsagent DIR   key.jwk, jwks.json, thumb.jwk, thumb.json,
//                                              secret, eddsa.jwt, hs256.jwt (from wsagent)
//   node jose_interop.mjs make-keys DIR        writes jose.jwks.json (a jose Ed25519 key,
//                                              an RSA key the server must skip, and
//                                              wsagent's key from DIR/jwks.json)
//   node jose_interop.mjs against-server PORT DIR
//                                              mints with jose and talks to the server
//
// WSAGENT_NPM_DIR names the npm prefix holding jose@5 and ws@8 (jose_test.sh sets it).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.WSAGENT_NPM_DIR ?? '.', 'node_modules', 'x.js'));
const jose = require('jose');
const WebSocket = require('ws');

const [, , command, ...rest] = process.argv;
const now = () => Math.floor(Date.now() / 1000);

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}
function ok(message) {
  console.log(`ok: ${message}`);
}
function check(condition, message) {
  if (!condition) fail(message);
  ok(message);
}
function same(actual, expected, message) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) fail(`${message}: got ${a}, want ${e}`);
  ok(message);
}
async function rejects(promise, message) {
  try {
    await promise;
  } catch (e) {
    ok(`${message} (${e.code ?? e.name})`);
    return;
  }
  fail(`${message}: accepted`);
}
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const readText = (file) => readFileSync(file, 'utf8').trim();
// The secret file's bytes minus one trailing newline, as wsagent reads it.
const readSecret = (file) => {
  let s = readFileSync(file);
  if (s.length && s[s.length - 1] === 0x0a) s = s.subarray(0, s.length - 1);
  if (s.length && s[s.length - 1] === 0x0d) s = s.subarray(0, s.length - 1);
  return new Uint8Array(s);
};

// ---- (a) wsagent's tokens and files, checked by jose ------------------------------------

async function verifyWsagent(dir) {
  const jwks = readJson(path.join(dir, 'jwks.json'));
  const priv = readJson(path.join(dir, 'key.jwk'));
  const eddsa = readText(path.join(dir, 'eddsa.jwt'));
  const hs256 = readText(path.join(dir, 'hs256.jwt'));

  // The JWKS and the private JWK are well-formed for jose.
  check(Array.isArray(jwks.keys) && jwks.keys.length === 1, 'JWKS has one key');
  const pubJwk = jwks.keys[0];
  same([pubJwk.kty, pubJwk.crv, pubJwk.alg, pubJwk.kid], ['OKP', 'Ed25519', 'EdDSA', 'interop-1'],
    'JWKS key members');
  check(pubJwk.d === undefined, 'JWKS holds no private member');
  const pubKey = await jose.importJWK(pubJwk, 'EdDSA');
  const privKey = await jose.importJWK(priv, 'EdDSA');
  check(privKey.type === 'private' && pubKey.type === 'public', 'jose imports both JWKs');
  same(priv.x, pubJwk.x, 'private JWK x equals the JWKS key');
  // The private key really is the JWKS key's other half: jose signs, jose verifies.
  const probe = await new jose.CompactSign(new TextEncoder().encode('probe'))
    .setProtectedHeader({ alg: 'EdDSA' })
    .sign(privKey);
  const { payload } = await jose.compactVerify(probe, pubKey);
  same(new TextDecoder().decode(payload), 'probe', 'jose signs with key.jwk, verifies with jwks.json');

  // The default kid is the RFC 7638 thumbprint, as jose computes it.
  const thumbJwks = readJson(path.join(dir, 'thumb.json'));
  const thumbPriv = readJson(path.join(dir, 'thumb.jwk'));
  const thumb = await jose.calculateJwkThumbprint(thumbJwks.keys[0], 'sha256');
  same(thumbJwks.keys[0].kid, thumb, 'default kid is the RFC 7638 thumbprint');
  same(thumbPriv.kid, thumb, 'private JWK carries the same kid');

  // wsagent's EdDSA token verifies in jose, through a local JWKS (kid lookup).
  const keySet = jose.createLocalJWKSet(jwks);
  const v = await jose.jwtVerify(eddsa, keySet, { algorithms: ['EdDSA'], typ: 'JWT' });
  same(v.protectedHeader, { alg: 'EdDSA', typ: 'JWT', kid: 'interop-1' }, 'EdDSA token header');
  same(v.payload.sub, 'alice', 'EdDSA token sub');
  same(v.payload.perm, { pub: ['chat.*'], sub: ['chat.>', 'news'] }, 'EdDSA token perm');
  same(v.payload.exp - v.payload.iat, 3600, 'EdDSA token exp = iat + ttl');
  check(Math.abs(v.payload.iat - now()) < 120, 'EdDSA token iat is now');
  await jose.jwtVerify(eddsa, pubKey, { algorithms: ['EdDSA'] });
  ok('EdDSA token verifies with the imported public JWK');

  // Tampering is noticed by jose (the checks above are not vacuous).
  const parts = eddsa.split('.');
  const forged = jose.base64url.encode(JSON.stringify({ ...v.payload, sub: 'mallory' }));
  await rejects(jose.jwtVerify(`${parts[0]}.${forged}.${parts[2]}`, keySet),
    'jose refuses the EdDSA token with a changed payload');

  // wsagent's HS256 token verifies in jose with the secret file's contents.
  const secret = readSecret(path.join(dir, 'secret'));
  const h = await jose.jwtVerify(hs256, secret, { algorithms: ['HS256'] });
  same(h.protectedHeader, { alg: 'HS256', typ: 'JWT' }, 'HS256 token header');
  same(h.payload.sub, 'bob', 'HS256 token sub');
  same(h.payload.perm, { pub: ['news'], sub: [] }, 'HS256 token perm');
  same(h.payload.exp - h.payload.iat, 600, 'HS256 token exp = iat + ttl');
  await rejects(jose.jwtVerify(hs256, new TextEncoder().encode('not the secret')),
    'jose refuses the HS256 token with another secret');
}

// ---- (b) keys and tokens made by jose, used against wsagent -------------------------------

async function makeKeys(dir) {
  const ed = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const edPriv = { ...(await jose.exportJWK(ed.privateKey)), kid: 'jose-1', alg: 'EdDSA' };
  const edPub = { ...(await jose.exportJWK(ed.publicKey)), kid: 'jose-1', alg: 'EdDSA', use: 'sig' };
  // A JWKS shared with other services holds other key types: the server skips them.
  const rsa = await jose.generateKeyPair('RS256', { extractable: true });
  const rsaPub = { ...(await jose.exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' };
  // A second Ed25519 key (rotation); its private half stays here to sign "unknown"-key tests.
  const other = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const otherPriv = await jose.exportJWK(other.privateKey);
  const wsagentKey = readJson(path.join(dir, 'jwks.json')).keys[0];
  writeFileSync(path.join(dir, 'jose.jwks.json'),
    JSON.stringify({ keys: [rsaPub, edPub, wsagentKey] }, null, 2));
  writeFileSync(path.join(dir, 'jose.private.jwk'), JSON.stringify(edPriv), { mode: 0o600 });
  writeFileSync(path.join(dir, 'other.private.jwk'), JSON.stringify(otherPriv), { mode: 0o600 });
  ok('jose wrote jose.jwks.json (RSA + jose Ed25519 + wsagent Ed25519)');
}

// Resolves with {status, hello} for an upgrade, or {status} when the server refused it.
function connect(port, { token, query = true, bearer = false, timeoutMs = 5000 }) {
  return new Promise((resolve, reject) => {
    const url = `ws://127.0.0.1:${port}/ws${query && token ? `?token=${encodeURIComponent(token)}` : ''}`;
    const headers = bearer ? { Authorization: `Bearer ${token}` } : {};
    const ws = new WebSocket(url, 'wsagent.v1', { headers, handshakeTimeout: timeoutMs });
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('timeout')); }, timeoutMs);
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => { clearTimeout(timer); resolve({ status: res.statusCode, body }); });
    });
    ws.on('message', (data) => {
      clearTimeout(timer);
      const hello = JSON.parse(data.toString());
      resolve({ status: 101, hello, ws, protocol: ws.protocol });
    });
    ws.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

// Sends a request with an id and resolves with the answer carrying that id.
function call(ws, request, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${JSON.stringify(request)}`)), timeoutMs);
    const onMessage = (data) => {
      const m = JSON.parse(data.toString());
      if (m.id === request.id && (m.op === 'ok' || m.op === 'err')) {
        clearTimeout(timer);
        ws.off('message', onMessage);
        resolve(m);
      }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify(request));
  });
}

async function expectHello(port, token, how, options = {}) {
  const r = await connect(port, { token, ...options });
  if (r.status !== 101) fail(`${how}: HTTP ${r.status} ${r.body ?? ''}`);
  same(r.hello.op, 'hello', `${how}: upgraded, hello received`);
  same(r.protocol, 'wsagent.v1', `${how}: subprotocol selected`);
  return r.ws;
}

async function expect401(port, token, how) {
  const r = await connect(port, { token });
  if (r.ws) r.ws.terminate();
  same(r.status, 401, `${how}: refused with HTTP 401, no upgrade`);
}

async function againstServer(port, dir) {
  const edKey = await jose.importJWK(readJson(path.join(dir, 'jose.private.jwk')), 'EdDSA');
  const otherKey = await jose.importJWK({ ...readJson(path.join(dir, 'other.private.jwk')) }, 'EdDSA');
  const secret = readSecret(path.join(dir, 'secret'));
  const perm = { pub: ['chat.*'], sub: ['chat.>'] };

  const eddsa = (header = {}, claims = { perm }, exp = '10m') => new jose.SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', kid: 'jose-1', ...header })
    .setSubject('jose-alice').setIssuedAt().setExpirationTime(exp);

  // Accepted: jose's EdDSA token (without typ, as SignJWT makes it by default), by query and
  // by header; with typ JWT and claims the server ignores (iss, aud, jti, nbf).
  const t1 = await eddsa().sign(edKey);
  const ws1 = await expectHello(port, t1, 'jose EdDSA token in ?token=');
  const ws2 = await expectHello(port, t1, 'jose EdDSA token in Authorization: Bearer',
    { query: false, bearer: true });
  ws2.close();
  const t2 = await eddsa({ typ: 'JWT' }).setIssuer('https://issuer.example').setAudience('wsagent')
    .setJti('abc').setNotBefore('0s').sign(edKey);
  (await expectHello(port, t2, 'jose EdDSA token with typ, iss, aud, jti, nbf')).close();

  // The token's perm claim is what the server enforces.
  const pubOk = await call(ws1, { op: 'pub', id: 1, tag: 'chat.lobby', data: { from: 'jose' } });
  same([pubOk.op, typeof pubOk.seq], ['ok', 'number'], 'pub inside perm.pub: ok with seq');
  const pubNo = await call(ws1, { op: 'pub', id: 2, tag: 'news', data: 1 });
  same([pubNo.op, pubNo.code], ['err', 'forbidden'], 'pub outside perm.pub: err forbidden');
  const subOk = await call(ws1, { op: 'sub', id: 3, tags: ['chat.>'] });
  same(subOk.op, 'ok', 'sub covered by perm.sub: ok');
  ws1.close();

  // Accepted: HS256 from jose with the shared secret, by both transports.
  const h1 = await new jose.SignJWT({ perm: { pub: ['news'] } }).setProtectedHeader({ alg: 'HS256' })
    .setSubject('jose-svc').setIssuedAt().setExpirationTime('5m').sign(secret);
  (await expectHello(port, h1, 'jose HS256 token in ?token=')).close();
  (await expectHello(port, h1, 'jose HS256 token in Authorization: Bearer',
    { query: false, bearer: true })).close();

  // HTTP publish with a jose token.
  const res = await fetch(`http://127.0.0.1:${port}/api/publish`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${h1}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ tag: 'news', data: { headline: 'jose' } }),
  });
  const body = await res.text();
  same(res.status, 200, `POST /api/publish with a jose HS256 token (${body.trim()})`);
  check(typeof JSON.parse(body).seq === 'number', 'POST /api/publish answers {"seq":N}');
  const res401 = await fetch(`http://127.0.0.1:${port}/api/publish`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${h1}x`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ tag: 'news', data: 1 }),
  });
  same(res401.status, 401, 'POST /api/publish with a broken jose token: 401');

  // Refused at the handshake with 401.
  await expect401(port, await eddsa({}, { perm }, '10m').sign(otherKey),
    'EdDSA signed by another key under kid jose-1');
  await expect401(port, await eddsa({ kid: 'nobody' }).sign(edKey), 'unknown kid');
  await expect401(port, await eddsa({}, { perm }, now() - 3600).sign(edKey), 'expired an hour ago');
  await expect401(port, await eddsa().setNotBefore('2h').sign(edKey), 'nbf two hours ahead');
  await expect401(port, await new jose.SignJWT({ perm }).setProtectedHeader({ alg: 'HS256' })
    .setSubject('x').setExpirationTime('5m').sign(new TextEncoder().encode('wrong secret, long enough to pass')),
  'HS256 with another secret');
  await expect401(port, new jose.UnsecuredJWT({ perm }).setSubject('x').setExpirationTime('5m').encode(),
    'alg none (jose UnsecuredJWT)');
  const rsa = await jose.generateKeyPair('RS256');
  await expect401(port, await new jose.SignJWT({ perm }).setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' })
    .setSubject('x').setExpirationTime('5m').sign(rsa.privateKey), 'RS256 (the JWKS RSA key is skipped)');

  // The wsagent key in the same JWKS still works (rotation across minters).
  (await expectHello(port, readText(path.join(dir, 'eddsa.jwt')), 'wsagent token in a mixed JWKS')).close();
}

const commands = {
  'verify-wsagent': () => verifyWsagent(rest[0]),
  'make-keys': () => makeKeys(rest[0]),
  'against-server': () => againstServer(Number(rest[0]), rest[1]),
};
if (!commands[command]) fail(`unknown command ${command}`);
try {
  await commands[command]();
} catch (e) {
  fail(e.stack ?? String(e));
}
process.exit(0);
