// bench-drain.mjs: how fast instantd drains its outbox to the server after
// a reconnect, against the devserver's own commit rate for the same
// transactions.
//
// 1. A free port is found (a devserver is started on port 0 and stopped)
//    and instantd is pointed at it while nothing listens there.
// 2. 10,000 transactions (one update step each, 8 clients pipelining) are
//    queued: all `enqueued`.
// 3. Baseline: the exact Instant tx-steps instantd queued (read from its
//    outbox with the sqlite3 CLI) are sent by a WebSocket client in this
//    process, pipelined, to a devserver on a fresh data dir; the time from
//    the first send to the last transact-ok is the devserver's own rate.
// 4. A devserver on a fresh data dir starts on the port; the daemon's tx
//    events are counted until all 10,000 are `synced`.  Reported: time from
//    the devserver being ready to the session authenticated (the daemon's
//    reconnect back-off), and from authenticated to the last synced (the
//    drain, which the target compares with the baseline).
//
// Usage: node bench-drain.mjs [--quick] [--n N]
//                             [--subscribe | --subscribe-all | --shared]
//                             [--instantd PATH] [--devserver PATH]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import * as B from './bench-lib.mjs';

const N = Number(B.arg('n', B.quick ? 2000 : 10000));
// --subscribe: a live query over part of the data while it drains (and,
// in the baseline, the same query added first), so that the server
// pushes refreshes and instantd reconciles each against its outbox.
// --subscribe-all: the live query is the whole namespace the drain grows
// ({todos: {}}), so that every refresh carries every todo synced so far.
// --shared: each transaction also updates one of 8 shared entities (a
// client's counter: the pattern of a "last changed" field), with a live
// query over the counters, so that every refresh changes an entity the
// rest of the outbox touches too.
const SUB_ALL = process.argv.includes('--subscribe-all');
const SHARED = process.argv.includes('--shared');
const SUB_Q = SUB_ALL ? { todos: {} } : SHARED ? { counters: {} } :
  process.argv.includes('--subscribe') ?
    { todos: { $: { where: { n: { $lt: 20 } } } } } : null;
const dir = B.tmpDir('drain');
const app = randomUUID();

// The devserver's rate for these tx-steps: resolve ms from first send to
// the last transact-ok.
async function baseline(txSteps) {
  const ds = await B.startDevserver({ dataDir: path.join(dir, `ds-base`) });
  const ws = new WebSocket(`ws://127.0.0.1:${ds.port}/runtime/session?app_id=${app}`);
  await new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); });
  let acks = 0, t0 = 0, done;
  const finished = new Promise((res) => { done = res; });
  const inited = new Promise((res) => {
    ws.on('message', (m) => {
      const s = m.toString();
      if (s.includes('"op":"init-ok"')) res();
      else if (s.includes('"op":"transact-ok"')) { if (++acks === txSteps.length) done(performance.now() - t0); }
      else if (s.includes('"op":"error"')) throw new Error(`devserver: ${s.slice(0, 300)}`);
    });
  });
  ws.send(JSON.stringify({ op: 'init', 'app-id': app, 'client-event-id': randomUUID(),
    versions: { '@instantdb/core': 'v1.0.67' } }));
  await inited;
  if (SUB_Q) ws.send(JSON.stringify({ op: 'add-query', q: SUB_Q, 'client-event-id': randomUUID() }));
  t0 = performance.now();
  txSteps.forEach((steps, i) => ws.send(JSON.stringify({ op: 'transact',
    'client-event-id': randomUUID(), 'tx-steps': steps, created: Date.now(), order: i + 1 })));
  const ms = await finished;
  ws.close();
  await B.stop(ds.proc);
  return ms;
}

const probe = await B.startDevserver({ dataDir: path.join(dir, 'ds-probe') });
const port = probe.port;
await B.stop(probe.proc);

const conf = path.join(dir, 'instantd.conf');
fs.writeFileSync(conf, `[app ${app}]\napi-uri = http://127.0.0.1:${port}\n`);
const dataDir = path.join(dir, 'data');
const d = await B.startDaemon({ dir, dataDir, config: conf });
const W = 8;
const clients = [];
let synced = 0, tAuth = 0, tFirst = 0, tLast = 0, allSynced;
const allDone = new Promise((res) => { allSynced = res; });
for (let i = 0; i < W; i++) {
  const c = await new B.Client(d.sock).open();
  B.ok(await c.send({ op: 'hello', app, name: `w${i}` }), 'hello');
  c.onEvent = (l) => {
    if (l.startsWith('{"event":"tx"') && l.includes('"status":"synced"')) {
      if (synced === 0) tFirst = performance.now();
      if (++synced === N) { tLast = performance.now(); allSynced(); }
    } else if (l.startsWith('{"event":"tx"') && l.includes('"status":"error"'))
      console.error(`rejected: ${l}`);
    else if (l.includes('"state":"authenticated"') && i === 0 && !tAuth) tAuth = performance.now();
  };
  clients.push(c);
}
const counters = clients.map(() => randomUUID());
if (SUB_Q) B.ok(await clients[0].send({ op: 'subscribe', q: SUB_Q }), 'subscribe');
const t0 = performance.now();
await Promise.all(clients.map(async (c, w) => {
  const sent = [];
  for (let i = w; i < N; i += W) {
    const steps = [['update', 'todos', randomUUID(),
      { title: `todo ${i}`, done: i % 2 === 0, n: i }]];
    if (SHARED) steps.push(['update', 'counters', counters[w], { last: i }]);
    sent.push(c.send({ op: 'transact', steps }));
    if (sent.length >= 64) B.ok(await sent.shift(), 'transact');
  }
  for (const p of sent) B.ok(await p, 'transact');
}));
const enqMs = performance.now() - t0;
const st = B.ok(await clients[0].send({ op: 'status' }), 'status');
if (st.pending !== N) throw new Error(`expected ${N} pending, status says ${st.pending}`);

const db = path.join(dataDir, 'apps', `${app}.db`);
const txSteps = JSON.parse(execFileSync('sqlite3', ['-json', '-readonly', db,
  'SELECT tx_steps FROM outbox ORDER BY seq'], { maxBuffer: 1 << 30 }).toString())
  .map((r) => JSON.parse(r.tx_steps));
if (txSteps.length !== N) throw new Error(`outbox has ${txSteps.length} rows`);

const baseRuns = [];
for (let i = 0; i < (B.quick ? 1 : 3); i++) {
  baseRuns.push(await baseline(txSteps));
  fs.rmSync(path.join(dir, 'ds-base'), { recursive: true, force: true });
}
const baseMs = B.median(baseRuns);

const ds = await B.startDevserver({ dataDir: path.join(dir, 'ds'), listen: `127.0.0.1:${port}` });
const tUp = performance.now();
// Bounded: a drain slower than the deadline is reported with the count
// synced so far and the rate that implies.
const deadline = Number(B.arg('deadline-s', B.quick ? 60 : 120)) * 1000;
let timer;
await Promise.race([allDone, new Promise((res) => { timer = setTimeout(res, deadline); })]);
clearTimeout(timer);
if (synced !== N) tLast = performance.now();
const done = synced;
const reconnectMs = tAuth ? tAuth - tUp : NaN;
const drainMs = tLast - (tAuth || tUp);
for (const c of clients) c.close();
await B.stop(d.proc);
await B.stop(ds.proc);

const rate = (ms, n = N) => B.fmt(n / (ms / 1000), 0);
// Time the devserver would take for as many transactions as were drained.
const base = (n) => (baseMs * n) / N;
B.table(`f. drain after reconnect: ${N} transactions queued offline (enqueued in ${B.fmt(enqMs, 0)} ms by ${W} clients)` +
  (SUB_ALL ? ', a live query over the whole namespace subscribed' :
    SHARED ? ', each also updating one of 8 shared entities, which a live query covers' :
      SUB_Q ? ', one live query subscribed' : ''),
  ['sender', 'transactions', 'ms', 'tx/s', 'vs devserver rate'],
  [['devserver own rate: WebSocket client, pipelined, same tx-steps (baseline, median of ' +
    baseRuns.length + ')', N, B.fmt(baseMs, 0), rate(baseMs), '1.00'],
  ['instantd drain: authenticated -> last synced', done, B.fmt(drainMs, 0), rate(drainMs, done),
    B.fmt(base(done) / drainMs)],
  ['instantd total: devserver ready -> last synced', done, B.fmt(tLast - tUp, 0), rate(tLast - tUp, done),
    B.fmt(base(done) / (tLast - tUp))],
  ['(reconnect back-off: devserver ready -> authenticated)', '', B.fmt(reconnectMs, 0), '', '']]);
if (done !== N) console.log(`only ${done} of ${N} synced within the ${deadline / 1000} s deadline`);
if (SUB_ALL || SHARED) console.log(`no target for this run (f's is for the drain without a live query): ` +
  `${B.fmt(base(done) / drainMs)} x the devserver's rate with the same ${SHARED ? 'transactions' : 'query'}`);
else console.log(`target (drain >= 0.5 x devserver rate): ${done === N && baseMs / drainMs >= 0.5 ? 'met' : 'NOT met'} ` +
  `(${B.fmt(base(done) / drainMs)} x; ${B.fmt(base(done) / (tLast - tUp))} x counting the reconnect back-off)`);
