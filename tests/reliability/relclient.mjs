// relclient.mjs: the local clients of the reliability suites, one mode per
// role, driven by the shell tests in this directory.
//
//   stream SOCK DIR TAG NCONN [PACE_MS [SUBQ]]
//       NCONN connections; connection k subscribes to SUBQ with %k
//       replaced by k (default its whole namespace rel<k>, so that the
//       daemon caches it), prints "ready" once all are
//       subscribed, then transacts one marker at a time: a new rel<k>
//       entity {m, tag, seq, bucket} and an update of the head entity
//       heads[k] {last, n}.  Every marker is written to DIR/sent before it
//       is sent and to DIR/acked once its reply is ok; a failed reply goes
//       to DIR/errors.  Waits up to PACE_MS (random) between two.  Stops
//       on SIGTERM (after the replies in flight) or when the daemon closes
//       the connections.
//   watch SOCK PORT APP TIMEOUT_MS Q...
//       subscribes to each query (JSON) and keeps the newest result; on
//       SIGUSR2 starts the official @instantdb/core client on the devserver
//       at PORT, subscribes to the same queries and exits 0 with
//       {"converged":true,"ms":N} as soon as every result equals the
//       server's (entities compared as sets by id, keys sorted), or 1
//       with the differences after TIMEOUT_MS.
//   probe SOCK N OUT [DONE]
//       N sequential one-shot queries, and more until the file DONE
//       exists; the round trips in microseconds go to OUT, one per line.
//   produce SOCK N NITEMS WINDOW [PAD]
//       N updates of NITEMS items entities (window of WINDOW requests in
//       flight), each with a PAD-byte string (default 64); prints "done"
//       when every reply arrived (all must be ok).
//   count SOCK Q OUT
//       subscribes to Q, prints "ready", reads everything and keeps the
//       number of result events received in OUT (rewritten every 100 ms).
//   stuck SOCK OUT Q [PIPELINE]
//       subscribes to Q, prints "ready" and stops reading; with PIPELINE,
//       then writes PIPELINE transactions without reading a reply.  On
//       SIGUSR2 reads again: every line goes to OUT; after 1 s without a
//       line (or at the end of file) it sends a status request if the
//       connection is still open, waits for its reply, prints "eof" or
//       "open" and exits.
import net from 'node:net';
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';

// A line-oriented connection to instantd.
function connect(sock, onLine, onClose) {
  const c = net.createConnection(sock);
  let buf = '';
  c.setEncoding('utf8');
  c.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      onLine(line);
    }
  });
  c.on('error', (e) => { c.lastError = e; });
  c.on('close', () => onClose && onClose(c.lastError));
  return c;
}

// A connection with request/reply matching by id.
function rpc(sock, onEvent, onClose) {
  const waiting = new Map();
  let next = 1;
  const c = connect(sock, (line) => {
    const m = JSON.parse(line);
    if (m.event !== undefined) {
      if (onEvent) onEvent(m);
      return;
    }
    const w = waiting.get(m.id);
    if (w) {
      waiting.delete(m.id);
      w(m);
    }
  }, (e) => {
    for (const w of waiting.values()) w(null);
    waiting.clear();
    if (onClose) onClose(e);
  });
  const call = (req) => new Promise((resolve) => {
    const id = next++;
    waiting.set(id, resolve);
    c.write(`${JSON.stringify({ ...req, id })}\n`);
  });
  return { c, call };
}

// Head entity ids: one per connection, the same in every run of a test.
function headId(k) {
  return `00000000-0000-4000-8000-${String(k).padStart(12, '0')}`;
}

async function stream([sock, dir, tag, nconn, pace, subq]) {
  const n = Number(nconn);
  const paceMs = Number(pace || 0);
  const sent = fs.openSync(`${dir}/sent`, 'a');
  const acked = fs.openSync(`${dir}/acked`, 'a');
  const errors = fs.openSync(`${dir}/errors`, 'a');
  let stopping = false;
  process.on('SIGTERM', () => { stopping = true; });
  const conns = [];
  for (let k = 1; k <= n; k++) {
    let closed = false;
    const r = rpc(sock, null, () => { closed = true; });
    conns.push({ k, r, isClosed: () => closed });
  }
  const subs = await Promise.all(conns.map(({ k, r }) => r.call({
    op: 'subscribe',
    q: JSON.parse((subq || '{"rel%k":{}}').replaceAll('%k', String(k))),
  })));
  if (subs.some((s) => s === null || !s.ok)) {
    console.error(`stream: subscribe failed: ${JSON.stringify(subs)}`);
    process.exit(1);
  }
  console.log('ready');
  await Promise.all(conns.map(async ({ k, r, isClosed }) => {
    for (let seq = 1; !stopping && !isClosed(); seq++) {
      const m = `${tag}.${k}.${seq}`;
      fs.writeSync(sent, `${m}\n`);
      const rep = await r.call({
        op: 'transact',
        steps: [
          ['create', `rel${k}`, randomUUID(),
            { m, tag, seq, bucket: seq % 16 }],
          ['update', 'heads', headId(k), { last: m, n: seq }],
        ],
      });
      if (rep === null) break;
      if (rep.ok) fs.writeSync(acked, `${m}\n`);
      else fs.writeSync(errors, `${m} ${JSON.stringify(rep)}\n`);
      if (paceMs > 0) {
        await new Promise((res) => setTimeout(res, Math.random() * paceMs));
      }
    }
    r.c.end();
  }));
  process.exit(0);
}

// Sort object keys and arrays of entities by id, for comparisons.
function normal(v) {
  if (Array.isArray(v)) {
    const a = v.map(normal);
    if (a.every((x) => x && typeof x === 'object' && typeof x.id === 'string')) {
      a.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    }
    return a;
  }
  if (v && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v).sort()) o[k] = normal(v[k]);
    return o;
  }
  return v;
}

async function watch([sock, port, app, timeout, ...qs]) {
  const queries = qs.map((q) => JSON.parse(q));
  const mine = new Map(); // sub -> newest data
  const subOf = [];
  let check = () => {};
  const r = rpc(sock, (ev) => {
    if (ev.event === 'result' && !ev.error) {
      mine.set(ev.sub, ev.data);
      check();
    }
  }, (e) => {
    console.error(`watch: the daemon closed the connection (${e || 'eof'})`);
    process.exit(1);
  });
  for (const q of queries) {
    const rep = await r.call({ op: 'subscribe', q });
    if (!rep || !rep.ok) {
      console.error(`watch: subscribe failed: ${JSON.stringify(rep)}`);
      process.exit(1);
    }
    subOf.push(rep.sub);
  }
  console.log('ready');
  await new Promise((res) => process.once('SIGUSR2', res));
  const t0 = process.hrtime.bigint();
  const { client } = await import('../node/devserver-client.mjs');
  const db = client(Number(port), app, 'watch');
  const theirs = new Map();
  const differ = () => queries.map((q, i) => {
    const a = JSON.stringify(normal(mine.get(subOf[i])));
    const b = JSON.stringify(normal(theirs.get(i)));
    return a === b || !theirs.has(i) ? null :
      { q, instantd: a.slice(0, 400), server: b.slice(0, 400) };
  });
  check = () => {
    if (theirs.size < queries.length) return;
    if (differ().some((d) => d !== null)) return;
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    console.log(JSON.stringify({ converged: true, ms: Math.round(ms) }));
    process.exit(0);
  };
  queries.forEach((q, i) => {
    db.subscribeQuery(q, (res) => {
      if (res.error || !res.data) return;
      theirs.set(i, res.data);
      check();
    });
  });
  setTimeout(() => {
    const d = differ();
    console.error(`watch: not converged after ${timeout} ms: ${
      theirs.size}/${queries.length} server results; ${
      JSON.stringify(d.filter((x) => x !== null))}`);
    process.exit(1);
  }, Number(timeout));
}

async function probe([sock, count, out, done]) {
  const r = rpc(sock, null, null);
  const lat = [];
  const q = { probe: { $: { where: { k: 1 } } } };
  await r.call({ op: 'query', q });
  for (let i = 0; i < Number(count) || (done && !fs.existsSync(done)); i++) {
    const t0 = process.hrtime.bigint();
    const rep = await r.call({ op: 'query', q });
    const t1 = process.hrtime.bigint();
    if (!rep || !rep.ok) {
      console.error(`probe: ${JSON.stringify(rep)}`);
      process.exit(1);
    }
    lat.push(Number((t1 - t0) / 1000n));
  }
  fs.writeFileSync(out, `${lat.join('\n')}\n`);
  process.exit(0);
}

async function produce([sock, count, nitems, window, pad]) {
  const padding = 'x'.repeat(Number(pad || 64));
  const r = rpc(sock, null, null);
  const n = Number(count);
  let i = 0;
  let bad = 0;
  const worker = async () => {
    while (i < n) {
      const j = i++;
      const item = `00000000-0000-4000-9000-${String(j % Number(nitems)).padStart(12, '0')}`;
      const rep = await r.call({
        op: 'transact',
        steps: [['update', 'items', item, { v: j, pad: padding }]],
      });
      if (!rep || !rep.ok) bad++;
    }
  };
  await Promise.all(Array.from({ length: Number(window) }, worker));
  if (bad) {
    console.error(`produce: ${bad} failed replies`);
    process.exit(1);
  }
  console.log('done');
  process.exit(0);
}

async function stuck([sock, out, q, pipeline]) {
  const lines = [];
  let eof = false;
  let last = Date.now();
  const c = connect(sock, (line) => { lines.push(line); last = Date.now(); },
    () => { eof = true; });
  c.write(`${JSON.stringify({ op: 'subscribe', id: 's', q: JSON.parse(q) })}\n`);
  await new Promise((res) => {
    const t = setInterval(() => {
      if (lines.some((l) => l.includes('"id":"s"'))) { clearInterval(t); res(); }
    }, 10);
  });
  c.pause();
  for (let i = 0; i < Number(pipeline || 0); i++) {
    c.write(`${JSON.stringify({
      op: 'transact', id: `p${i}`,
      steps: [['update', 'own', randomUUID(), { i, pad: 'y'.repeat(200) }]],
    })}\n`);
  }
  console.log('ready');
  // A paused socket does not keep node running; this timer does.
  const keep = setInterval(() => {}, 1000);
  await new Promise((res) => process.once('SIGUSR2', res));
  clearInterval(keep);
  last = Date.now();
  c.resume();
  while (!eof && Date.now() - last < 1000) {
    await new Promise((res) => setTimeout(res, 50));
  }
  if (!eof) {
    c.write('{"op":"status","id":"after"}\n');
    const t0 = Date.now();
    while (!eof && !lines.some((l) => l.includes('"id":"after"')) &&
      Date.now() - t0 < 10000) {
      await new Promise((res) => setTimeout(res, 20));
    }
  }
  fs.writeFileSync(out, lines.map((l) => `${l}\n`).join(''));
  console.log(eof ? 'eof' : 'open');
  process.exit(0);
}

async function count([sock, q, out]) {
  let n = 0;
  const r = rpc(sock, (ev) => { if (ev.event === 'result') n++; }, () => {
    console.error('count: the daemon closed the connection');
    process.exit(1);
  });
  const rep = await r.call({ op: 'subscribe', q: JSON.parse(q) });
  if (!rep || !rep.ok) {
    console.error(`count: subscribe failed: ${JSON.stringify(rep)}`);
    process.exit(1);
  }
  // Replaced by a rename, so that a reader never sees it empty.
  const save = () => {
    fs.writeFileSync(`${out}.tmp`, `${n}\n`);
    fs.renameSync(`${out}.tmp`, out);
  };
  save();
  console.log('ready');
  setInterval(save, 100);
}

const modes = { stream, watch, probe, produce, stuck, count };
const [mode, ...args] = process.argv.slice(2);
if (!modes[mode]) {
  console.error(`usage: relclient.mjs ${Object.keys(modes).join('|')} ...`);
  process.exit(2);
}
modes[mode](args).catch((e) => {
  console.error(`${mode}: ${e.stack || e}`);
  process.exit(1);
});
