// bench-apps.mjs: three apps sharing one instantd against three official
// @instantdb/core clients (one node process per app), all subscribing to the
// same queries on an instant-devserver.
//
// Upstream traffic is counted by a WebSocket proxy in this process between
// the clients (instantd, or the official clients) and the devserver: one
// upstream socket per accepted connection, messages and payload bytes each
// way, and TCP bytes read and written on the client side of the proxy.
// Each app is a node child process in both set-ups (so "total memory" sums
// the same kind of processes): with instantd it speaks the local protocol
// over the Unix socket; without, it runs the official client.  Total
// memory is the sum of VmRSS of those processes, plus instantd's.
//
// Per app: 200 todos seeded directly on the devserver (not through the
// proxy), then 3 queries subscribed; once every app has all its results,
// 10 updates per app are written directly on the devserver and both
// set-ups receive the refreshes; counters are read once every app has seen
// every update.
//
// Usage: node bench-apps.mjs [--quick] [--instantd PATH] [--devserver PATH]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import WebSocket, { WebSocketServer } from 'ws';
import * as B from './bench-lib.mjs';

const here = fileURLToPath(import.meta.url);
const QUERIES = [
  { todos: {} },
  { todos: { $: { where: { done: false } } } },
  { todos: { $: { order: { serverCreatedAt: 'desc' }, limit: 20 } } },
];
const SEED = 200, WRITES = 10;
// Count of todos with n >= SEED+WRITES-1 visible in query 0: the last write.
const lastMarker = SEED + WRITES - 1;

// Child mode: one app.  Prints "ready" once every query has its server
// result, "seen" once query 0 shows the last write, exits on stdin EOF.
async function child(mode, where, app) {
  const seenReady = (rows) => rows.length >= SEED;
  const seenLast = (rows) => rows.some((t) => t.n === lastMarker);
  let ready = false, seen = false;
  const results = new Map();
  const check = () => {
    if (!ready && results.size === QUERIES.length && [...results.values()][0] &&
      seenReady(results.get(0))) { ready = true; console.log('ready'); }
    if (ready && !seen && results.get(0) && seenLast(results.get(0))) { seen = true; console.log('seen'); }
  };
  if (mode === 'official') {
    const dc = await import('./devserver-client.mjs');
    const db = dc.client(Number(where), app, 'bench');
    QUERIES.forEach((q, i) => db.subscribeQuery(q, (r) => {
      if (r.data) { results.set(i, r.data.todos); check(); }
    }));
  } else {
    const c = await new B.Client(where).open();
    B.ok(await c.send({ op: 'hello', app, name: 'bench-app' }), 'hello');
    // Result events may come before the subscribe reply: keep them by sub.
    const bySub = new Map(), subs = [];
    const remap = () => subs.forEach((sub, i) => { if (bySub.has(sub)) results.set(i, bySub.get(sub)); });
    c.onEvent = (l) => {
      if (!l.startsWith('{"event":"result"')) return;
      const e = JSON.parse(l);
      bySub.set(e.sub, e.data.todos);
      remap();
      check();
    };
    for (let i = 0; i < QUERIES.length; i++)
      subs.push(B.ok(await c.send({ op: 'subscribe', q: QUERIES[i] }), 'subscribe').sub);
    remap();
    check();
  }
  createInterface({ input: process.stdin }).on('close', () => process.exit(0));
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4], process.argv[5]);
} else {
  await main();
}

// A counting WebSocket proxy to port; resolves {port, stats, close}.
async function proxy(target) {
  const stats = { sockets: 0, up: 0, upBytes: 0, down: 0, downBytes: 0, tcpIn: 0, tcpOut: 0 };
  const live = new Set();
  const server = http.createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (ws, req) => {
    stats.sockets++;
    const up = new WebSocket(`ws://127.0.0.1:${target}${req.url}`, { perMessageDeflate: false });
    const queue = [];
    live.add(ws);
    ws.on('message', (m, bin) => {
      stats.up++; stats.upBytes += m.length;
      if (up.readyState === WebSocket.OPEN) up.send(m, { binary: bin }); else queue.push([m, bin]);
    });
    up.on('open', () => { for (const [m, bin] of queue) up.send(m, { binary: bin }); });
    up.on('message', (m, bin) => { stats.down++; stats.downBytes += m.length; ws.send(m, { binary: bin }); });
    const count = () => {
      if (!live.delete(ws)) return;
      stats.tcpIn += ws._socket.bytesRead; stats.tcpOut += ws._socket.bytesWritten;
    };
    ws.on('close', () => { count(); up.close(); });
    up.on('close', () => ws.close());
    up.on('error', () => ws.close());
    ws.on('error', () => up.close());
    stats.snapshot = () => {
      const s = { ...stats };
      for (const w of live) { s.tcpIn += w._socket.bytesRead; s.tcpOut += w._socket.bytesWritten; }
      return s;
    };
  });
  stats.snapshot = () => ({ ...stats });
  await new Promise((res) => server.listen(0, '127.0.0.1', res));
  return { port: server.address().port, stats, close: () => { wss.close(); server.close(); } };
}

// Spawn one app child; resolve {proc, waitFor(word)}.
function spawnApp(mode, where, app) {
  const proc = spawn(process.execPath, [here, '--child', mode, String(where), app],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  const words = new Set(), waiters = [];
  createInterface({ input: proc.stdout }).on('line', (l) => {
    words.add(l.trim());
    for (const w of waiters.splice(0)) w();
  });
  const waitFor = (word) => new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`app ${app} (${mode}) never said ${word}`)), 60000);
    const f = () => { if (words.has(word)) { clearTimeout(t); res(); } else waiters.push(f); };
    f();
  });
  return { proc, waitFor };
}

// Write via a direct instantd on the devserver (not through the proxy).
async function writer(dir, port, apps) {
  const conf = path.join(dir, 'writer.conf');
  fs.writeFileSync(conf, apps.map((a) => `[app ${a}]\napi-uri = http://127.0.0.1:${port}\n`).join(''));
  const d = await B.startDaemon({ dir, dataDir: path.join(dir, 'writer'), config: conf });
  const cs = {};
  for (const a of apps) {
    cs[a] = await new B.Client(d.sock).open();
    B.ok(await cs[a].send({ op: 'hello', app: a }), 'hello');
  }
  const write = async (from, to) => Promise.all(apps.map(async (a) => {
    const steps = [];
    for (let i = from; i < to; i++)
      steps.push(['update', 'todos', randomUUID(), { title: `todo ${i}`, done: i % 2 === 1, n: i }]);
    B.ok(await cs[a].send({ op: 'transact', steps, wait: 'synced' }), 'transact');
  }));
  const writeEach = async (from, to) => {
    for (let i = from; i < to; i++) await write(i, i + 1);
  };
  return { write, writeEach, stop: async () => { for (const c of Object.values(cs)) c.close(); await B.stop(d.proc); } };
}

// One set-up: mode "instantd" or "official"; returns counters and memory.
async function run(dir, port, mode) {
  const apps = [randomUUID(), randomUUID(), randomUUID()];
  const w = await writer(dir, port, apps);
  await w.write(0, SEED);
  const px = await proxy(port);
  let d = null, where = px.port;
  if (mode === 'instantd') {
    const conf = path.join(dir, `${mode}.conf`);
    fs.writeFileSync(conf, apps.map((a) => `[app ${a}]\napi-uri = http://127.0.0.1:${px.port}\n`).join(''));
    d = await B.startDaemon({ dir, dataDir: path.join(dir, `data-${mode}`), config: conf });
    where = d.sock;
  }
  const kids = apps.map((a) => spawnApp(mode, where, a));
  await Promise.all(kids.map((k) => k.waitFor('ready')));
  await w.writeEach(SEED, SEED + WRITES);
  await Promise.all(kids.map((k) => k.waitFor('seen')));
  await B.sleep(300);
  const s = px.stats.snapshot();
  const kidRss = kids.map((k) => B.mem(k.proc.pid).rss);
  const dRss = d ? B.mem(d.pid).rss : 0;
  for (const k of kids) k.proc.stdin.end();
  await Promise.all(kids.map((k) => new Promise((res) => k.proc.once('exit', res))));
  if (d) await B.stop(d.proc);
  px.close();
  await w.stop();
  return { s, kidRss, dRss };
}

async function main() {
  const dir = B.tmpDir('apps');
  const ds = await B.startDevserver({ dataDir: path.join(dir, 'ds') });
  const off = await run(dir, ds.port, 'official');
  const loc = await run(dir, ds.port, 'instantd');
  await B.stop(ds.proc);
  const sum = (v) => v.reduce((a, b) => a + b, 0);
  const kib = (b) => B.fmt(b / 1024, 1);
  const row = (name, r) => [name, r.s.sockets, r.s.up, kib(r.s.upBytes), r.s.down, kib(r.s.downBytes),
    kib(r.s.tcpIn + r.s.tcpOut),
    r.dRss ? `${B.fmt(sum(r.kidRss) + r.dRss, 1)} (apps ${B.fmt(sum(r.kidRss), 1)} + instantd ${B.fmt(r.dRss, 1)})`
      : `${B.fmt(sum(r.kidRss), 1)} (apps ${r.kidRss.map((x) => B.fmt(x, 1)).join(' + ')})`];
  B.table(`g. three apps, ${QUERIES.length} queries each, ${SEED} todos seeded and ${WRITES} updates per app; ` +
    'upstream counted at a WebSocket proxy in front of the devserver; memory = sum of VmRSS (MiB); every app is a node process',
  ['set-up', 'upstream sockets', 'msgs up', 'KiB up', 'msgs down', 'KiB down', 'TCP KiB total', 'total RSS MiB'],
  [row('3 x official @instantdb/core (baseline)', off), row('3 apps on one instantd', loc)]);
}
