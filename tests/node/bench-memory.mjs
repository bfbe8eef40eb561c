// bench-memory.mjs: instantd's memory with 100 clients, 1,000 distinct
// subscriptions and a store of 1M triples, and its start-up time with that
// store; both against the same daemon on an empty store (the baseline).
//
// The 1M-triple store (200,000 entities of 5 triples: id and 4 fields) is
// made once by transacting 500 steps per transaction with synchronous =
// normal, and kept in $TMPDIR/instantd-bench-1m (delete it to rebuild);
// later runs copy it.  Memory is VmRSS and VmHWM from /proc/PID/status.
// Start-up: from spawn to the "listening" line, and to the first reply from
// the app (hello on a new connection, which opens the store), and to the
// first query answered from it.  Medians of several starts.
//
// Usage: node bench-memory.mjs [--quick] [--instantd PATH]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import * as B from './bench-lib.mjs';

const ENTITIES = 200000;
const cache = path.join(process.env.TMPDIR || os.tmpdir(), 'instantd-bench-1m');
const dir = B.tmpDir('memory');

// Build the cached store unless it is there; return its app id.
async function build() {
  const stamp = path.join(cache, 'app');
  if (fs.existsSync(stamp)) return fs.readFileSync(stamp, 'utf8').trim();
  fs.rmSync(cache, { recursive: true, force: true });
  fs.mkdirSync(cache, { recursive: true });
  const conf = path.join(dir, 'load.conf');
  fs.writeFileSync(conf, 'synchronous = normal\n');
  const d = await B.startDaemon({ dir, dataDir: path.join(cache, 'data'), config: conf });
  const c = await new B.Client(d.sock).open();
  const app = B.ok(await c.send({ op: 'hello', name: 'load' }), 'hello').app;
  const t0 = Date.now();
  const sent = [];
  for (let i = 0; i < ENTITIES; i += 500) {
    const steps = [];
    for (let j = i; j < i + 500; j++)
      steps.push(['update', 'items', randomUUID(),
        { k: j, name: `item ${j}`, group: j % 1000, flag: j % 3 === 0 }]);
    sent.push(c.send({ op: 'transact', steps }));
    if (sent.length >= 8) B.ok(await sent.shift(), 'transact');
  }
  for (const p of sent) B.ok(await p, 'transact');
  c.close();
  await B.stop(d.proc);
  console.error(`built ${ENTITIES * 5} triples in ${Date.now() - t0} ms`);
  fs.writeFileSync(stamp, app + '\n');
  return app;
}

// A copy of the cached store's data dir (so runs do not change it).
function copyStore() {
  const to = path.join(dir, `data.${randomUUID().slice(0, 8)}`);
  fs.cpSync(path.join(cache, 'data'), to, { recursive: true });
  return to;
}

// Start a daemon on dataDir; times to listening, to hello, to a query.
async function startTimed(dataDir, app) {
  const t0 = performance.now();
  const d = await B.startDaemon({ dir, dataDir });
  const tl = performance.now() - t0;
  const c = await new B.Client(d.sock).open();
  B.ok(await c.send({ op: 'hello', app }), 'hello');
  const th = performance.now() - t0;
  B.ok(await c.send({ op: 'query', q: { items: { $: { where: { k: 5 } } } } }), 'query');
  const tq = performance.now() - t0;
  return { d, c, tl, th, tq };
}

// Start-up times (median of n starts) on dataDir.
async function startups(dataDir, app, n) {
  const l = [], h = [], q = [];
  for (let i = 0; i < n; i++) {
    const { d, c, tl, th, tq } = await startTimed(dataDir, app);
    l.push(tl); h.push(th); q.push(tq);
    c.close();
    await B.stop(d.proc);
  }
  return { l: B.median(l), h: B.median(h), q: B.median(q) };
}

// 100 clients, 1,000 distinct subscriptions; resolve memory readings.
async function load100(dataDir, app) {
  const { d, c } = await startTimed(dataDir, app);
  const m0 = B.mem(d.pid);
  const clients = [];
  for (let i = 0; i < 100; i++) {
    const cl = await new B.Client(d.sock).open();
    B.ok(await cl.send({ op: 'hello', app, name: `c${i}` }), 'hello');
    clients.push(cl);
  }
  const m1 = B.mem(d.pid);
  // Each client subscribes to 10 queries of its own: 1,000 distinct ones,
  // each a where on one of the 1,000 groups (200 entities each).
  let results = 0;
  const first = [];
  clients.forEach((cl, i) => {
    let need = 10;
    first.push(new Promise((res) => {
      cl.onEvent = (l) => { if (l.startsWith('{"event":"result"')) { results++; if (--need === 0) res(); } };
    }));
  });
  await Promise.all(clients.map(async (cl, i) => {
    for (let j = 0; j < 10; j++)
      B.ok(await cl.send({ op: 'subscribe', q: { items: { $: { where: { group: i * 10 + j } } } } }),
        'subscribe');
  }));
  await Promise.all(first);
  const st = B.ok(await c.send({ op: 'status' }), 'status');
  const m2 = B.mem(d.pid);
  for (const cl of clients) cl.close();
  c.close();
  await B.stop(d.proc);
  return { m0, m1, m2, subs: st.subscriptions, clients: st.clients, results };
}

const app = await build();
const n = B.quick ? 3 : 7;
const emptyDir = path.join(dir, 'empty');
const empty = await (async () => {
  const d = await B.startDaemon({ dir, dataDir: emptyDir });
  const c = await new B.Client(d.sock).open();
  const a = B.ok(await c.send({ op: 'hello' }), 'hello').app;
  B.ok(await c.send({ op: 'transact', steps: [['update', 'items', randomUUID(),
    { k: 5, name: 'item 5', group: 5, flag: false }]] }), 'transact');
  c.close();
  await B.stop(d.proc);
  return a;
})();
const se = await startups(emptyDir, empty, n);
const big = copyStore();
const sb = await startups(big, app, n);
const me = await load100(emptyDir, empty);
const mb = await load100(big, app);

B.table('e. start-up (ms, median of ' + n + ' starts; spawn to ...)',
  ['store', 'listening line', 'hello answered', 'first query answered', 'target < 100 ms'],
  [['1 entity (baseline)', B.fmt(se.l), B.fmt(se.h), B.fmt(se.q), ''],
    ['1M triples', B.fmt(sb.l), B.fmt(sb.h), B.fmt(sb.q), sb.h < 100 ? 'met' : 'NOT met']]);
const row = (name, r) => [name, `${r.clients} / ${r.subs}`, B.fmt(r.m0.rss, 1), B.fmt(r.m1.rss, 1),
  B.fmt(r.m2.rss, 1), B.fmt(r.m2.hwm, 1)];
B.table('e. memory (MiB, from /proc/PID/status; idle = one client, store open)',
  ['store', 'clients / subs', 'VmRSS idle', 'VmRSS +100 clients', 'VmRSS +1000 subs', 'VmHWM'],
  [row('1 entity (baseline)', me), row('1M triples', mb)]);
console.log(`target VmHWM <= 64 MiB with 1M triples, 100 clients, 1000 subscriptions: ` +
  `${mb.m2.hwm <= 64 ? 'met' : 'NOT met'} (${B.fmt(mb.m2.hwm, 1)} MiB; VmRSS ${B.fmt(mb.m2.rss, 1)} MiB); ` +
  `start-up < 100 ms: ${sb.h < 100 ? 'met' : 'NOT met'} (${B.fmt(sb.h)} ms to the first hello reply)`);
