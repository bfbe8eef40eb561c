// Shared set-up for running the official @instantdb/core client under
// Node 20 against instant-devserver: the shims the client needs outside a
// browser (a window global, a global WebSocket, in-memory storage, an
// always-online network listener) and small helpers to wait for results.
import { WebSocket } from 'ws';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { init, id, lookup, i } from '@instantdb/core';
// InMemoryStorage ships in the package but is not exported.
import InMemoryStorage from './node_modules/@instantdb/core/dist/esm/InMemoryStorage.js';

globalThis.WebSocket = WebSocket;
globalThis.window ??= {};

const alwaysOnline = {
  getIsOnline: async () => true,
  listen: () => () => {},
};

export { id, lookup, i };

// A fresh client of appId talking to the devserver on port; tag keeps
// clients of the same app apart inside one process; schema is optional.
export function client(port, appId, tag, schema) {
  return init(
    {
      appId,
      websocketURI: `ws://127.0.0.1:${port}/runtime/session`,
      apiURI: `http://127.0.0.1:${port}`,
      __extraDedupeKey: tag,
      ...(schema ? { schema } : {}),
    },
    InMemoryStorage,
    alwaysOnline,
  );
}

// Resolve with the first result of q on db for which pred(data) holds;
// reject after ms with the last result seen.
export function waitFor(db, q, pred, what, ms = 10000) {
  return new Promise((resolve, reject) => {
    let last;
    let unsub = () => {};
    const timer = setTimeout(() => {
      unsub();
      reject(new Error(`timed out waiting for ${what}; last result: ` +
        JSON.stringify(last)));
    }, ms);
    unsub = db.subscribeQuery(q, (r) => {
      last = r;
      if (r.error || !r.data) return;
      let ok = false;
      try { ok = pred(r.data); } catch { ok = false; }
      if (ok) {
        clearTimeout(timer);
        queueMicrotask(() => unsub());
        resolve(r.data);
      }
    });
  });
}

// Resolve once db's connection status is status (at once if it is).
export function waitStatus(db, status, ms = 15000) {
  return new Promise((resolve, reject) => {
    if (db._reactor.status === status) {
      resolve();
      return;
    }
    let unsub = () => {};
    const timer = setTimeout(() => {
      unsub();
      reject(new Error(`timed out waiting for status ${status}`));
    }, ms);
    unsub = db.subscribeConnectionStatus((s) => {
      if (s === status) {
        clearTimeout(timer);
        queueMicrotask(() => unsub());
        resolve();
      }
    });
  });
}

// Change the devserver's faults through its control endpoint.
export async function setFaults(controlPort, faults) {
  const res = await fetch(`http://127.0.0.1:${controlPort}/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });
  if (res.status !== 200) {
    throw new Error(`POST /faults: ${res.status} ${await res.text()}`);
  }
  return res.json();
}

const children = new Set();
process.on('exit', () => {
  for (const p of children) p.kill('SIGKILL');
});

// Start instant-devserver (path in $DEVSERVER) with args; resolves with
// {proc, port, controlPort, log} once the readiness lines were read.
// log collects its stderr lines (also copied to our stderr).
export function startDevserver(args) {
  const bin = process.env.DEVSERVER;
  if (!bin) throw new Error('DEVSERVER is not set');
  // Its stdin is a pipe from us: if we die, it sees end of file and exits.
  const proc = spawn(bin, [...args, '--exit-on-stdin-eof'],
    { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  const out = { proc, port: 0, controlPort: 0, log: [] };
  createInterface({ input: proc.stderr }).on('line', (line) => {
    out.log.push(line);
    process.stderr.write(`${line}\n`);
  });
  return new Promise((resolve, reject) => {
    const want = args.includes('--control') ? 2 : 1;
    let seen = 0;
    const rl = createInterface({ input: proc.stdout });
    proc.once('exit', (code) => reject(new Error(`devserver exited: ${code}`)));
    rl.on('line', (line) => {
      let m = line.match(/^instant-devserver listening on 127\.0\.0\.1:(\d+)$/);
      if (m) { out.port = Number(m[1]); seen++; }
      m = line.match(/^instant-devserver control on 127\.0\.0\.1:(\d+)$/);
      if (m) { out.controlPort = Number(m[1]); seen++; }
      if (seen === want) resolve(out);
    });
  });
}

// Stop a devserver started by startDevserver and wait for its exit.
export function stopDevserver(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) { resolve(proc.exitCode); return; }
    proc.once('exit', (code) => resolve(code));
    proc.kill('SIGTERM');
  });
}

// Fail with message unless cond holds.
export function check(cond, message) {
  if (!cond) throw new Error(`check failed: ${message}`);
}

// Run main, print its outcome and exit with a status the harness reads.
export function run(name, main) {
  const guard = setTimeout(() => {
    console.error(`${name}: FAIL: overall timeout`);
    process.exit(1);
  }, 90000);
  main().then(() => {
    clearTimeout(guard);
    console.log(`${name}: PASS`);
    process.exit(0);
  }, (err) => {
    console.error(`${name}: FAIL: ${err.stack || err}`);
    process.exit(1);
  });
}
