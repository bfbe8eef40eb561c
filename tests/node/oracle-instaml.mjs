// oracle-instaml.mjs: the official client's InstaML compiler and optimistic
// store as an oracle.
//
// Reads one JSON case per line on stdin:
//   {"attrs": [attr...], "triples": [[e, a, v, t]...], "ops": [op...]}
// and writes one JSON line per case:
//   {"tx_steps": [...], "triples": [[e, a, v, t]...], "attrs": [...]}
// where tx_steps is instaml.transform of ops (with the case's store as the
// only cached query store), and triples/attrs are the store and attrs after
// store.transact of those tx-steps.  A case the client rejects gives
// {"error": message}.
//
// A line {"rewrite": true, "attrs": [server attr...], "muts": [{"tx-steps":
// [...], "tx-id": n|null}...], "processed_tx_id": n|null} gives
// {"muts": [[tx-step...]...]}: the pending mutations after the client's
// rewrite against the server's attrs (Reactor._rewriteMutations).
//
// Exits 2 if @instantdb/core cannot be loaded.
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const esm = path.join(here, 'node_modules/@instantdb/core/dist/esm');

let instaml, store, Reactor;
try {
  instaml = await import(path.join(esm, 'instaml.js'));
  store = await import(path.join(esm, 'store.js'));
  Reactor = (await import(path.join(esm, 'Reactor.js'))).default;
} catch (e) {
  process.stderr.write(`oracle-instaml: cannot load @instantdb/core: ${e.message}\n`);
  process.exit(2);
}

function attrsStoreOf(attrs) {
  const attrMap = {};
  for (const a of attrs || []) attrMap[a.id] = a;
  return new store.AttrsStoreClass(attrMap, null);
}

// _rewriteMutations does not use its receiver.
function runRewrite(c) {
  const muts = new Map();
  c.muts.forEach((m, i) => muts.set(`m${i}`, m));
  const out = Reactor.prototype._rewriteMutations.call(
    null, attrsStoreOf(c.attrs), muts, c.processed_tx_id);
  return { muts: [...out.values()].map((m) => m['tx-steps']) };
}

function runCase(c) {
  if (c.rewrite) return runRewrite(c);
  const attrsStore = attrsStoreOf(c.attrs);
  const s = store.createStore(attrsStore, c.triples || [], false, false);
  const txSteps = instaml.transform({ attrsStore, stores: [s] }, [{ __ops: c.ops }]);
  const next = store.transact(s, attrsStore, txSteps);
  return {
    tx_steps: txSteps,
    triples: store.toJSON(next.store).triples,
    attrs: Object.values(next.attrsStore.attrs),
  };
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (line.trim() === '') continue;
  let out;
  try {
    out = runCase(JSON.parse(line));
  } catch (e) {
    out = { error: String(e && e.message ? e.message : e) };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}
