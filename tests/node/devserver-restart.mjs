// An official @instantdb/core client keeps working across a devserver
// restart: mutations made while the server is down are resent after it
// comes back on the same port, and the data written before the restart
// is still there (SQLite under --data).  A commit whose ack is lost with
// the socket is resent on the next connection and converges.
// Env: DEVSERVER, DATA_DIR, APP_ID.
import { client, id, waitFor, waitStatus, startDevserver, stopDevserver,
  setFaults, check, run } from './devserver-client.mjs';

const appId = process.env.APP_ID;
const dataDir = process.env.DATA_DIR;
const goalsQ = { goals: {} };

function title(d, g) {
  return d.goals.find((x) => x.id === g)?.title;
}

run('devserver-restart', async () => {
  check(appId && dataDir, 'APP_ID and DATA_DIR');
  const args = (port) => ['--listen', `127.0.0.1:${port}`, '--data', dataDir,
    '--app', appId, '--control', '127.0.0.1:0'];
  let srv = await startDevserver(args(0));
  const port = srv.port;
  const a = client(port, appId, 'A');
  await waitStatus(a, 'authenticated');
  const g1 = id();
  const g2 = id();
  const r = await a.transact(a.tx.goals[g1].create({ title: 'before' }));
  check(r.status === 'synced', `first transaction synced, got ${r.status}`);
  // A live subscription keeps a cached result to overlay while offline.
  const keep = a.subscribeQuery(goalsQ, () => {});
  await waitFor(a, goalsQ, (d) => title(d, g1) === 'before',
    'the first goal');

  const closed = waitStatus(a, 'closed');
  await stopDevserver(srv.proc);
  await closed;
  const r2 = await a.transact([
    a.tx.goals[g1].update({ title: 'while down' }),
    a.tx.goals[g2].create({ title: 'new while down' }),
  ]);
  check(r2.status === 'enqueued', `offline transaction enqueued, got ${r2.status}`);
  await waitFor(a, goalsQ, (d) => title(d, g1) === 'while down' &&
    title(d, g2) === 'new while down', 'the optimistic offline view');

  srv = await startDevserver(args(port));
  await waitStatus(a, 'authenticated', 30000);
  const b = client(port, appId, 'B');
  await waitFor(b, goalsQ, (d) => title(d, g1) === 'while down' &&
    title(d, g2) === 'new while down',
    'a fresh client to see the resent mutations', 20000);
  await waitFor(a, goalsQ, (d) => title(d, g1) === 'while down' &&
    title(d, g2) === 'new while down', 'A to keep its resent mutations');

  // The socket closes after the commit, before the ack: the client
  // resends on its next connection (Instant does not dedupe; an upsert is
  // harmless) and both clients end up with the value.
  await setFaults(srv.controlPort, { 'close-before-ack': 1 });
  const r3 = await a.transact(a.tx.goals[g1].update({ title: 'ack lost' }));
  // Only the resend can be acknowledged: the first ack was never sent.
  check(r3.status === 'synced',
    `the resent transaction is acknowledged, got ${r3.status}`);
  await waitStatus(a, 'authenticated');
  await waitFor(b, goalsQ, (d) => title(d, g1) === 'ack lost',
    'B to see the write whose ack was lost');
  keep();
  await stopDevserver(srv.proc);
});
