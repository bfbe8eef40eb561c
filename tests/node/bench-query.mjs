// bench-query.mjs: InstaQL evaluation through instantd's `query` op on a
// local-only app against the official @instantdb/core evaluator run
// in-process on the same attrs and triples.
//
// Data sets: generated (10k and 100k entities: 20% authors, 80% posts,
// every post linked to one author by the label "authors", so the daemon's
// schemaless attrs point at the authors namespace) and the zeneca fixture of the installed
// npm package.  Each is loaded into instantd by transacting it (500 steps
// per transaction, synchronous=normal for the load; the store is a cache
// and the load is not what is measured).  The official evaluator is then
// given the attrs and triples instantd holds, read from its store file with
// the sqlite3 CLI after the daemon stops, so both sides evaluate exactly
// the same data; both answers are compared (entity count and ids) so a
// fast wrong answer cannot count.
//
// instantd ms: wall time from writing the request to reading the whole
// reply line (socket round trip, evaluation and JSON encoding included).
// official ms: wall time of instaql() on a store built once (no encoding).
// socket floor ms: the same client reading the same reply bytes from a
// server that has them ready (bench-replay.mjs): what any daemon pays to
// hand this reply to this client over a Unix socket.  Where that floor is
// above a third of the official time, 3x is out of reach through a socket
// whatever the evaluator does; the summary says so.
// Medians of several runs each.
//
// Usage: node bench-query.mjs [--quick] [--instantd PATH]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import * as B from './bench-lib.mjs';

process.env.TZ = 'UTC';
const here = path.dirname(fileURLToPath(import.meta.url));
const esm = path.join(here, 'node_modules/@instantdb/core/dist/esm');
const S = await import(path.join(esm, 'store.js'));
const { default: instaql } = await import(path.join(esm, 'instaql.js'));
const warn = await import(path.join(esm, 'warningToggle.js')).catch(() => ({}));
if (warn.setWarningEnabled) warn.setWarningEnabled(false);
console.warn = () => {};

const dir = B.tmpDir('query');
const CITIES = ['Oslo', 'Lima', 'Pune', 'Kyiv', 'Rome', 'Nara', 'Cali', 'Bern', 'Faro', 'Split'];
const STATUS = ['draft', 'review', 'published', 'archived'];

// Steps that create n entities: authors and posts linked to them.
function generated(n) {
  const nA = Math.floor(n / 5), nP = n - nA;
  const authors = [], steps = [];
  for (let i = 0; i < nA; i++) {
    const id = randomUUID();
    authors.push(id);
    steps.push(['update', 'authors', id, {
      handle: `author${i}`, city: CITIES[i % CITIES.length], age: 20 + (i % 50),
    }]);
  }
  for (let i = 0; i < nP; i++) {
    const id = randomUUID();
    const f = { title: `post number ${i}`, n: i, status: STATUS[i % 4] };
    if (i % 2) f.note = `note ${i}`;
    steps.push(['update', 'posts', id, f]);
    steps.push(['link', 'posts', id, { authors: authors[i % nA] }]);
  }
  return steps;
}

// Steps that recreate the zeneca fixture: fields by update, refs by link.
function zeneca() {
  const d = path.join(here, 'node_modules/@instantdb/core/__tests__/src/data/zeneca');
  const attrs = JSON.parse(fs.readFileSync(path.join(d, 'attrs.json'), 'utf8'));
  const triples = JSON.parse(fs.readFileSync(path.join(d, 'triples.json'), 'utf8'));
  const byId = {};
  for (const a of Array.isArray(attrs) ? attrs : Object.values(attrs)) byId[a.id] = a;
  const ents = new Map(), links = [];
  for (const [e, aid, v] of triples) {
    const [, ns, label] = byId[aid]['forward-identity'];
    if (!ents.has(e)) ents.set(e, { ns, f: {} });
    if (label === 'id') continue;
    if (byId[aid]['value-type'] === 'ref') links.push(['link', ns, e, { [label]: v }]);
    else ents.get(e).f[label] = v;
  }
  const steps = [];
  for (const [e, { ns, f }] of ents) steps.push(['update', ns, e, f]);
  return steps.concat(links);
}

// Load steps into a fresh store; return the data dir and the app id.
async function load(name, steps) {
  const dataDir = path.join(dir, name);
  const conf = path.join(dir, `${name}.conf`);
  fs.writeFileSync(conf, 'synchronous = normal\n');
  const d = await B.startDaemon({ dir, dataDir, config: conf });
  const c = await new B.Client(d.sock).open();
  const app = B.ok(await c.send({ op: 'hello', name: 'load' }), 'hello').app;
  const t0 = Date.now();
  const sent = [];
  for (let i = 0; i < steps.length; i += 500) {
    sent.push(c.send({ op: 'transact', steps: steps.slice(i, i + 500) }));
    if (sent.length >= 16) B.ok(await sent.shift(), 'transact');
  }
  for (const p of sent) B.ok(await p, 'transact');
  c.close();
  await B.stop(d.proc);
  console.error(`${name}: ${steps.length} steps loaded in ${Date.now() - t0} ms`);
  return { dataDir, app };
}

// The attrs and triples of a stopped daemon's store.
function dump(dataDir, app) {
  const db = path.join(dataDir, 'apps', `${app}.db`);
  const q = (file, sql) => JSON.parse(execFileSync('sqlite3', ['-json', '-readonly', file, sql],
    { maxBuffer: 1 << 30 }).toString() || '[]');
  const attrs = q(db, 'SELECT json FROM attrs').map((r) => JSON.parse(r.json));
  // The view (the triples every query reads) has a file of its own.
  const triples = q(`${db}-view`, 'SELECT e, a, v, t FROM triples')
    .map((r) => [r.e, r.a, JSON.parse(r.v), Number(r.t)]);
  return { attrs, triples };
}

// Entity ids of every namespace of a result, nested ones included, in order.
function shape(data) {
  const ids = [];
  const walk = (v) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      if (typeof v.id === 'string') ids.push(v.id);
      for (const k of Object.keys(v)) if (v[k] && typeof v[k] === 'object') walk(v[k]);
    }
  };
  walk(data);
  return ids;
}

function count(data) {
  return Object.values(data).reduce((n, v) => n + (Array.isArray(v) ? v.length : 1), 0);
}

const runs = (ms) => (ms > 500 ? 3 : ms > 50 ? 5 : B.quick ? 7 : 15);

// Time every query on both sides; return table rows.
async function bench(name, dataDir, app, queries) {
  const { attrs, triples } = dump(dataDir, app);
  const byId = {};
  for (const a of attrs) byId[a.id] = a;
  const attrsStore = new S.AttrsStoreClass(byId, {});
  const store = S.createStore(attrsStore, triples, false, false);
  // A full namespace of 80,000 posts is a reply of more than the default
  // output limit (8 MiB), which would close the connection.
  const conf = path.join(dir, `${name}.bench.conf`);
  fs.writeFileSync(conf, 'max-output = 1073741824\n');
  const d = await B.startDaemon({ dir, dataDir, config: conf });
  const c = await new B.Client(d.sock).open();
  B.ok(await c.send({ op: 'hello', app }), 'hello');
  const rows = [], replies = [], nruns = [];
  for (const [label, q] of queries) {
    // official
    let t0 = performance.now();
    let off = instaql({ store, attrsStore }, q);
    const ot = [performance.now() - t0];
    for (let i = 1; i < runs(ot[0]); i++) {
      t0 = performance.now();
      off = instaql({ store, attrsStore }, q);
      ot.push(performance.now() - t0);
    }
    // instantd
    const line = JSON.stringify({ op: 'query', id: 0, q }) + '\n';
    t0 = performance.now();
    const first = await c.sendRaw(line);
    const it = [performance.now() - t0];
    for (let i = 1; i < runs(it[0]); i++) {
      t0 = performance.now();
      await c.sendRaw(line);
      it.push(performance.now() - t0);
    }
    replies.push(first);
    nruns.push(it.length);
    const r = JSON.parse(first);
    let check;
    if (!r.ok) check = `instantd error: ${r.error.message}`;
    else {
      const a = shape(r.data), b = shape(off.data);
      check = a.length === b.length && a.every((x, i) => x === b[i]) ? 'same'
        : a.length === b.length && [...a].sort().join() === [...b].sort().join() ? 'same set, order differs'
          : `DIFFERS (${a.length} vs ${b.length} ids)`;
    }
    const om = B.median(ot), im = B.median(it);
    rows.push([name, label, r.ok ? count(r.data) : '-', B.fmt(first.length / 1024, 1), B.fmt(om), null,
      B.fmt(im), B.fmt(om / im, 1) + 'x', om < 1 ? 'n/a (<1 ms)' : om / im >= 3 ? 'met' : 'NOT met', check]);
    console.error(rows[rows.length - 1].join(' | '));
  }
  c.close();
  await B.stop(d.proc);
  // The transport floor of each reply, timed as instantd was.
  const file = path.join(dir, `${name}.replies`);
  fs.writeFileSync(file, replies.join('\n') + '\n');
  const rs = await B.startReplay({ dir, file });
  const rc = await new B.Client(rs.sock).open();
  for (let q = 0; q < rows.length; q++) {
    const ft = [];
    for (let i = 0; i < nruns[q]; i++) {
      const t0 = performance.now();
      const l = await rc.sendRaw(`${q}\n`);
      ft.push(performance.now() - t0);
      if (l.length !== replies[q].length) throw new Error(`replay of ${rows[q][1]} failed`);
    }
    rows[q][5] = B.fmt(B.median(ft));
  }
  rc.close();
  await B.stop(rs.proc);
  return { rows, triples: triples.length };
}

const handles20 = Array.from({ length: 20 }, (_, i) => `author${i * 7}`);
const ns20 = Array.from({ length: 20 }, (_, i) => i * 13);
const genQueries = (n) => [
  ['full namespace', { posts: {} }],
  ['where equality', { posts: { $: { where: { status: 'draft' } } } }],
  ['where equality, 1 hit', { posts: { $: { where: { n: Math.floor(n / 3) } } } }],
  ['where link path', { posts: { $: { where: { 'authors.city': 'Oslo' } } } }],
  ['order + limit 10', { posts: { $: { order: { n: 'desc' }, limit: 10 } } }],
  ['$like', { posts: { $: { where: { title: { $like: '%99%' } } } } }],
  ['$isNull', { posts: { $: { where: { note: { $isNull: true } } } } }],
  ['$in (3 values)', { authors: { $: { where: { handle: { $in: ['author1', 'author7', 'author9'] } } } } }],
  ['or', { posts: { $: { where: { or: [{ status: 'draft' }, { 'authors.city': 'Lima' }] } } } }],
  ['nested links, 20 parents', { authors: { $: { where: { handle: { $in: handles20 } } }, posts: {} } }],
  ['nested 2 levels, 20 roots', { posts: { $: { where: { n: { $in: ns20 } } }, authors: { posts: { $: { limit: 2 } } } } }],
  // The official evaluator is quadratic on these (seconds at 10k, minutes at
  // 100k), so they run on the smallest set only.
  ...(n > 10000 ? [] : [
    ['nested links, 10% parents', { authors: { $: { where: { city: 'Rome' } }, posts: {} } }],
    ['nested 2 levels, 25% roots', { posts: { $: { where: { status: 'review' } }, authors: { posts: { $: { limit: 2 } } } } }],
  ]),
];

const zenecaQueries = [
  ['full namespace', { books: {} }],
  ['where equality', { users: { $: { where: { handle: 'joe' } } } }],
  ['where link path', { books: { $: { where: { 'bookshelves.users.handle': 'stopa' } } } }],
  ['order + limit 10', { bookshelves: { $: { order: { order: 'asc' }, limit: 10 } } }],
  ['$like', { books: { $: { where: { title: { $like: '%the%' } } } } }],
  ['$isNull', { books: { $: { where: { thumbnail: { $isNull: true } } } } }],
  ['nested links', { users: { bookshelves: { books: {} } } }],
  ['nested with where', { bookshelves: { $: { where: { 'users.handle': 'alex' } }, books: {} } }],
];

const sizes = B.quick ? [10000] : [10000, 100000];
const all = [];
const info = [];
for (const n of sizes) {
  const name = `gen${n / 1000}k`;
  const { dataDir, app } = await load(name, generated(n));
  const { rows, triples } = await bench(name, dataDir, app, genQueries(n));
  all.push(...rows);
  info.push(`${name}: ${n} entities, ${triples} triples`);
}
{
  const { dataDir, app } = await load('zeneca', zeneca());
  const { rows, triples } = await bench('zeneca', dataDir, app, zenecaQueries);
  all.push(...rows);
  info.push(`zeneca: ${triples} triples`);
}
B.table(`d. query evaluation: instantd query op (socket) vs official instaql() in-process; medians; ${info.join('; ')}`,
  ['data', 'query', 'rows', 'reply KiB', 'official ms', 'socket floor ms', 'instantd ms', 'speedup',
    'target >=3x', 'answers'], all);
const slow = all.filter((r) => r[8] === 'NOT met');
console.log(`target (>= 3x where official >= 1 ms): ${slow.length === 0 ? 'met on every query' :
  `NOT met on ${slow.length}: ${slow.map((r) => `${r[0]} ${r[1]} (${r[7]})`).join(', ')}`}`);
// Where the floor alone takes more than a third of the official time.
const bound = slow.filter((r) => 3 * Number(r[5]) > Number(r[4]));
if (bound.length > 0)
  console.log(`out of reach through a socket (floor > official / 3): ${bound.map((r) =>
    `${r[0]} ${r[1]} (floor ${r[5]} ms, official / 3 = ${B.fmt(Number(r[4]) / 3)} ms)`).join(', ')}`);
