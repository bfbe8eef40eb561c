// The official @instantdb/core client and instantd on the same app through
// instant-devserver: each sees the other's writes.
//
// usage: node instantd-official.mjs DEVSERVER_PORT APP_ID INSTANTD_SOCKET
import net from 'node:net';
import { client, waitFor, id } from './devserver-client.mjs';

const [port, appId, sock] = process.argv.slice(2);

// A local-protocol connection to instantd: request() resolves with the
// reply; every result event is kept in results.
function daemon(path) {
  const s = net.createConnection(path);
  const waiting = new Map();
  const results = [];
  let buf = '';
  let next = 1;
  s.setEncoding('utf8');
  s.on('data', (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const msg = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      if (msg.event === 'result') results.push(msg);
      else if (!msg.event && waiting.has(msg.id)) {
        waiting.get(msg.id)(msg);
        waiting.delete(msg.id);
      }
    }
  });
  return {
    results,
    request(obj) {
      const rid = next++;
      return new Promise((resolve) => {
        waiting.set(rid, resolve);
        s.write(JSON.stringify({ ...obj, id: rid }) + '\n');
      });
    },
    close() { s.end(); },
  };
}

function until(pred, what, ms = 15000) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      if (pred()) return resolve();
      if (Date.now() - t0 > ms) return reject(new Error(`timed out: ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

const d = daemon(sock);
const sub = await d.request({ op: 'subscribe', q: { notes: {} } });
if (!sub.ok) throw new Error('subscribe failed: ' + JSON.stringify(sub));

const mine = await d.request({ op: 'transact', wait: 'synced',
  steps: [['update', 'notes', id(), { text: 'from instantd' }]] });
if (!mine.ok || mine.status !== 'synced')
  throw new Error('transact failed: ' + JSON.stringify(mine));

const db = client(port, appId, 'official');
await waitFor(db, { notes: {} },
  (data) => data.notes.some((n) => n.text === 'from instantd'),
  'the official client to see instantd\'s note');
console.log('ok: the official client sees what instantd wrote');

await db.transact(db.tx.notes[id()].update({ text: 'from official' }));
await until(() => d.results.some((r) => r.sub === sub.sub &&
  r.data.notes.some((n) => n.text === 'from official')),
  'instantd\'s subscriber to see the official client\'s note');
console.log('ok: instantd\'s subscriber sees what the official client wrote');

// Both converge to the same set.
const q = await d.request({ op: 'query', q: { notes: {} } });
const theirs = await waitFor(db, { notes: {} }, (data) => data.notes.length === 2,
  'two notes in the official client');
const texts = (notes) => notes.map((n) => n.text).sort().join(',');
if (texts(q.data.notes) !== texts(theirs.notes))
  throw new Error(`diverged: ${texts(q.data.notes)} vs ${texts(theirs.notes)}`);
console.log('ok: both show the same notes');

// A paginated query: the window (offset) and the pageInfo come from the
// server's page-info, which the official client evaluates with.
for (let i = 0; i < 4; i++) {
  const r = await d.request({ op: 'transact', wait: 'synced',
    steps: [['update', 'notes', id(), { text: `page ${i}` }]] });
  if (!r.ok) throw new Error('transact failed: ' + JSON.stringify(r));
}
const pq = { notes: { $: { limit: 2, offset: 1 } } };
const official = await new Promise((resolve, reject) => {
  let last;
  const timer = setTimeout(() => reject(new Error('timed out: the official ' +
    'client\'s paginated query; last: ' + JSON.stringify(last))), 10000);
  const unsub = db.subscribeQuery(pq, (r) => {
    last = r;
    if (r.error || !r.data || !r.pageInfo || r.data.notes.length !== 2) return;
    clearTimeout(timer);
    queueMicrotask(() => unsub());
    resolve(r);
  });
});
const ids = (notes) => notes.map((n) => n.id).join(',');
const page = await d.request({ op: 'query', q: pq });
if (!page.ok) throw new Error('paginated query failed: ' + JSON.stringify(page));
if (ids(page.data.notes) !== ids(official.data.notes))
  throw new Error(`paginated query: ${ids(page.data.notes)} vs ` +
    `${ids(official.data.notes)} (official)`);
if (JSON.stringify(page.page_info) !== JSON.stringify(official.pageInfo))
  throw new Error(`page_info: ${JSON.stringify(page.page_info)} vs ` +
    `${JSON.stringify(official.pageInfo)} (official pageInfo)`);
const psub = await d.request({ op: 'subscribe', q: pq });
if (!psub.ok) throw new Error('subscribe failed: ' + JSON.stringify(psub));
await until(() => d.results.some((r) => r.sub === psub.sub &&
  ids(r.data.notes) === ids(official.data.notes) &&
  JSON.stringify(r.page_info) === JSON.stringify(official.pageInfo)),
  'a result event with the official client\'s page and pageInfo');
console.log('ok: a paginated query and its result events have the official ' +
  'client\'s page and pageInfo');
d.close();
db.shutdown?.();
process.exit(0);
