// instant-devserver's fault injection, liveness and HTTP endpoints, seen
// from raw WebSocket clients and the official client's auth API:
// pings and idle close, drop-ack, close-before-ack, ack and refresh
// delays, app status changes, refused connections, a server that stops
// answering, guest and magic-code sign-in, refresh tokens, /health/system.
// Env: DEVSERVER, DATA_DIR, APP_ID.
import { WebSocket } from 'ws';
import { connect } from 'node:net';
import { client, id, setFaults, startDevserver, stopDevserver, check, run }
  from './devserver-client.mjs';

const appId = process.env.APP_ID;
const dataDir = process.env.DATA_DIR;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A raw protocol client: collects messages and pings.
function raw(port, opts = {}) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/runtime/session?app_id=${appId}`,
    opts);
  const c = { ws, msgs: [], pings: 0, closed: false, waiters: [] };
  ws.on('ping', () => { c.pings++; });
  ws.on('close', () => { c.closed = true; c.wake(); });
  ws.on('message', (data) => {
    if (process.env.DEBUG) console.error('<', String(data).slice(0, 120));
    c.msgs.push(JSON.parse(data));
    c.wake();
  });
  c.wake = () => { for (const w of c.waiters.splice(0)) w(); };
  c.send = (m) => ws.send(JSON.stringify({ 'client-event-id': id(), ...m }));
  // The next message with op (others are skipped), or null after ms.
  c.next = async (op, ms = 3000) => {
    const end = Date.now() + ms;
    for (;;) {
      const i = c.msgs.findIndex((m) => m.op === op);
      if (i >= 0) return c.msgs.splice(0, i + 1).pop();
      const left = end - Date.now();
      if (left <= 0 || c.closed) return null;
      await new Promise((r) => {
        c.waiters.push(r);
        setTimeout(r, left);
      });
    }
  };
  c.open = () => new Promise((resolve, reject) => {
    if (ws.readyState === WebSocket.OPEN) { resolve(); return; }
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  c.init = async () => {
    await c.open();
    c.send({ op: 'init', 'app-id': appId,
      versions: { '@instantdb/core': 'v1.0.67' } });
    check(await c.next('init-ok'), 'init-ok');
  };
  return c;
}

// Steps creating a goal with title, declaring the attrs it needs.
const ATTR_ID = id();
const ATTR_TITLE = id();
function goalSteps(g, title) {
  return [
    ['add-attr', { id: ATTR_ID, 'forward-identity': [id(), 'goals', 'id'],
      'value-type': 'blob', cardinality: 'one', 'unique?': true,
      'index?': false }],
    ['add-attr', { id: ATTR_TITLE, 'forward-identity': [id(), 'goals', 'title'],
      'value-type': 'blob', cardinality: 'one', 'unique?': false,
      'index?': false }],
    ['add-triple', g, ATTR_ID, g],
    ['add-triple', g, ATTR_TITLE, title],
  ];
}

async function liveness(port, ctl) {
  console.error('devserver-faults: step liveness');
  const alive = raw(port);
  await alive.init();
  await sleep(700);
  check(alive.pings >= 3, `pings every 100 ms, saw ${alive.pings}`);
  check(!alive.closed, 'a client answering pings stays connected');
  await setFaults(ctl, { 'no-ping': true });
  await sleep(150);
  const before = alive.pings;
  await sleep(400);
  check(alive.pings === before, 'no-ping stops the pings');
  await setFaults(ctl, { 'no-ping': false });

  const silent = raw(port, { autoPong: false });
  await silent.init();
  const t0 = Date.now();
  while (!silent.closed && Date.now() - t0 < 3000) await sleep(50);
  check(silent.closed, 'a silent client is closed after the idle timeout');
  alive.ws.close();
}

async function acks(port, ctl) {
  console.error('devserver-faults: step acks');
  const a = raw(port);
  const b = raw(port);
  await a.init();
  await b.init();
  b.send({ op: 'add-query', q: { goals: {} } });
  check(await b.next('add-query-ok'), 'add-query-ok');

  await setFaults(ctl, { 'drop-ack': 1 });
  a.send({ op: 'transact', 'tx-steps': goalSteps(id(), 'no ack') });
  check(await b.next('refresh-ok'), 'the other client sees the commit');
  check(await a.next('transact-ok', 400) === null, 'drop-ack drops the ack');
  a.send({ op: 'transact', 'tx-steps': goalSteps(id(), 'acked') });
  check(await a.next('transact-ok'), 'only one ack was dropped');
  check(await b.next('refresh-ok'), 'refresh');

  await setFaults(ctl, { 'close-before-ack': 1 });
  a.send({ op: 'transact', 'tx-steps': goalSteps(id(), 'then closed') });
  check(await b.next('refresh-ok'), 'the commit happened');
  check(await a.next('transact-ok', 1000) === null && a.closed,
    'close-before-ack closes without the ack');

  await setFaults(ctl, { 'ack-delay-ms': 300, 'refresh-delay-ms': 200 });
  const c = raw(port);
  await c.init();
  const t0 = Date.now();
  c.send({ op: 'transact', 'tx-steps': goalSteps(id(), 'slow') });
  check(await c.next('transact-ok'), 'the delayed ack arrives');
  check(Date.now() - t0 >= 290, 'ack-delay-ms delays the ack');
  check(await b.next('refresh-ok') && Date.now() - t0 >= 190,
    'refresh-delay-ms delays the refresh');
  await setFaults(ctl, { 'ack-delay-ms': 0, 'refresh-delay-ms': 0 });

  await setFaults(ctl, { 'app-status': 'read-only' });
  const st = await b.next('app-status-changed');
  check(st && st.status === 'read-only', 'app-status-changed is pushed');
  b.send({ op: 'transact', 'tx-steps': goalSteps(id(), 'ro') });
  const err = await b.next('error');
  check(err && err.type === 'app-read-only' && err.status === 400,
    'a read-only app rejects writes');
  await setFaults(ctl, { 'app-status': 'active' });

  await setFaults(ctl, { 'no-answer': true });
  b.send({ op: 'add-query', q: { todos: {} } });
  check(await b.next('add-query-ok', 400) === null, 'no-answer ignores messages');
  await setFaults(ctl, { 'no-answer': false });
  b.send({ op: 'add-query', q: { things: {} } });
  check(await b.next('add-query-ok'), 'answers resume');
  b.ws.close();
  c.ws.close();
}

async function refused(port, ctl) {
  console.error('devserver-faults: step refused');
  await setFaults(ctl, { 'refuse-connections': true });
  const r = raw(port);
  let failed = false;
  try { await r.open(); } catch { failed = true; }
  check(failed, 'refuse-connections refuses');
  await setFaults(ctl, { 'refuse-connections': false });
  const ok = raw(port);
  await ok.init();
  ok.ws.close();
}

async function auth(srv) {
  console.error('devserver-faults: step auth');
  const base = `http://127.0.0.1:${srv.port}`;
  const h = await fetch(`${base}/health/system`);
  check(h.status === 200 && (await h.json()).wal === 'ok', '/health/system');

  const db = client(srv.port, appId, 'auth');
  const guest = await db.auth.signInAsGuest();
  check(guest.user && guest.user.isGuest && guest.user.refresh_token,
    'guest sign-in returns a guest user with a refresh token');
  const v = await fetch(`${base}/runtime/auth/verify_refresh_token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ 'app-id': appId,
      'refresh-token': guest.user.refresh_token }),
  });
  check(v.status === 200 && (await v.json()).user.id === guest.user.id,
    'verify_refresh_token finds the user');

  const email = 'ada@example.com';
  await db.auth.sendMagicCode({ email });
  // The log line travels through a pipe: give it a moment.
  let line;
  for (let i = 0; i < 40 && !line; i++) {
    line = srv.log.find((l) => l.includes(`magic code for ${email}`));
    if (!line) await sleep(50);
  }
  check(line, 'the magic code is logged');
  const code = line.match(/: (\d{6})$/)[1];
  let bad = false;
  try {
    await db.auth.signInWithMagicCode({ email, code: code === '000000' ? '111111' : '000000' });
  } catch (e) {
    bad = e.body?.type === 'record-not-found';
  }
  check(bad, 'a wrong code is rejected');
  const res = await db.auth.signInWithMagicCode({ email, code });
  check(res.user.email === email, 'the magic code signs in');
  const token = res.user.refresh_token;

  const r = raw(srv.port);
  await r.open();
  r.send({ op: 'init', 'app-id': appId, 'refresh-token': token });
  const ok = await r.next('init-ok');
  check(ok && ok.auth.user && ok.auth.user.email === email,
    'init with a refresh token carries the user');
  r.ws.close();

  // The client sends /runtime/signout without waiting for it.
  await db.auth.signOut();
  let body = {};
  let status = 0;
  for (let i = 0; i < 40 && status !== 400; i++) {
    const gone = await fetch(`${base}/runtime/auth/verify_refresh_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ 'app-id': appId, 'refresh-token': token }),
    });
    status = gone.status;
    body = await gone.json();
    if (status !== 400) await sleep(50);
  }
  check(status === 400 && body.type === 'record-not-found' &&
    body.hint['record-type'] === 'app-user',
    `sign-out forgets the token: ${status} ${JSON.stringify(body)}`);
  db.shutdown();
}

// Send raw bytes over HTTP/1.1 and resolve with the status code.
function rawStatus(port, bytes) {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.write(bytes));
    let got = '';
    const done = () => {
      resolve(Number((got.match(/^HTTP\/1\.1 (\d+) /) || [])[1]));
      sock.destroy();
    };
    sock.on('data', (d) => {
      got += d;
      if (/^HTTP\/1\.1 \d+ /.test(got)) done();
    });
    sock.on('error', reject);
    sock.on('close', done);
  });
}

async function http(port) {
  console.error('devserver-faults: step http');
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  const up = (k) => 'GET /runtime/session HTTP/1.1\r\nHost: x\r\n' +
    `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${k}` +
    '\r\nSec-WebSocket-Version: 13\r\n\r\n';
  check(await rawStatus(port, up(key)) === 101, 'a valid upgrade gets 101');
  check(await rawStatus(port, up('bad')) === 400, 'a bad key gets 400');
  check(await rawStatus(port, 'GET /runtime/session HTTP/1.1\r\n\r\n') === 426,
    'a plain GET of the session gets 426');
  check(await rawStatus(port, 'GET /nope HTTP/1.1\r\n\r\n') === 404,
    'an unknown path gets 404');
  check(await rawStatus(port, `GET / HTTP/1.1\r\nX: ${'a'.repeat(9000)}\r\n\r\n`) === 431,
    'an oversized head gets 431');
  const other = await fetch(`http://127.0.0.1:${port}/runtime/auth/sign_in_guest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ 'app-id': id() }),
  });
  const body = await other.json();
  check(other.status === 400 && body.type === 'record-not-found' &&
    body.hint['record-type'] === 'app', 'an unknown app is record-not-found');

  const big = raw(port);
  await big.init();
  const closed = new Promise((r) => big.ws.once('close', (code) => r(code)));
  big.ws.send('x'.repeat(70000));
  const code = await closed;
  check(code === 1009, `a message above --max-message closes with 1009, got ${code}`);
}

run('devserver-faults', async () => {
  check(appId && dataDir, 'APP_ID and DATA_DIR');
  // Short liveness timings on a server of their own, so that slow runs
  // (valgrind) of the other checks are not cut by the idle timeout.
  const fast = await startDevserver(['--listen', '127.0.0.1:0', '--data',
    `${dataDir}/fast`, '--app', appId, '--control', '127.0.0.1:0',
    '--ping-interval', '100', '--idle-timeout', '500']);
  await liveness(fast.port, fast.controlPort);
  await stopDevserver(fast.proc);

  const srv = await startDevserver(['--listen', '127.0.0.1:0', '--data',
    dataDir, '--app', appId, '--control', '127.0.0.1:0',
    '--max-message', '65536']);
  await http(srv.port);
  await acks(srv.port, srv.controlPort);
  await refused(srv.port, srv.controlPort);
  await auth(srv);
  await stopDevserver(srv.proc);
});
