// oracle-query.mjs: the official @instantdb/core query evaluator as a test
// oracle.
//
// Reads one JSON case per line on stdin:
//   {"attrs": [attr...], "triples": [[e, a, v, t]...], "q": {...},
//    "cardinalityInference": bool, "pageInfo": {...}?}
// or, to reuse the previous line's store, {"q": ..., ...} with "same": true.
// Prints one line per case: {"data":..., "pageInfo":...?} as the client's
// instaql() returns it, or {"error": message} if it throws.  A case with
// "bench": n is run n times and its line also has "ms", the least CPU
// time of one run.
//
// The cardinality inference link index is built from the attrs, as a
// schema with the same links would give it: a forward label is has-one
// when its attr has cardinality "one", a reverse label when its attr is
// unique?; a forward label wins over a reverse one of the same name.
//
// Run with TZ=UTC: the client parses dates without an offset as local time.
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const esm = path.join(here, 'node_modules/@instantdb/core/dist/esm');
const s = await import(path.join(esm, 'store.js'));
const { default: instaql } = await import(path.join(esm, 'instaql.js'));
const { setWarningEnabled } = await import(
  path.join(esm, 'warningToggle.js')
).catch(() => ({}));
if (setWarningEnabled) setWarningEnabled(false);
console.warn = () => {};

function linkIndexOf(attrs) {
  const idx = {};
  const put = (etype, label, isForward, isSingular) => {
    idx[etype] ??= {};
    idx[etype][label] = { isForward, isSingular, link: null };
  };
  for (const a of attrs) {
    const rev = a['reverse-identity'];
    if (a['value-type'] === 'ref' && rev) put(rev[1], rev[2], false, !!a['unique?']);
  }
  for (const a of attrs) {
    const fwd = a['forward-identity'];
    if (a['value-type'] === 'ref') put(fwd[1], fwd[2], true, a.cardinality === 'one');
  }
  return idx;
}

let attrsStore = null;
let lastTriples = null;
const stores = new Map();

function storeFor(c) {
  if (!c.same) {
    const attrs = Array.isArray(c.attrs) ? c.attrs : Object.values(c.attrs);
    const byId = {};
    for (const a of attrs) byId[a.id] = a;
    attrsStore = new s.AttrsStoreClass(byId, linkIndexOf(attrs));
    lastTriples = c.triples;
    stores.clear();
  }
  const ci = !!c.cardinalityInference;
  if (!stores.has(ci)) {
    stores.set(
      ci,
      s.createStore(attrsStore, lastTriples.map((t) => t.slice()), ci, false),
    );
  }
  return stores.get(ci);
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (!line.trim()) continue;
  let out;
  try {
    const c = JSON.parse(line);
    const store = storeFor(c);
    let r, ms = Infinity;
    for (let i = 0; i < (c.bench || 1); i++) {
      const t0 = process.cpuUsage();
      r = instaql({ store, attrsStore, pageInfo: c.pageInfo }, c.q);
      const t = process.cpuUsage(t0);
      ms = Math.min(ms, (t.user + t.system) / 1000);
    }
    out = { data: r.data };
    if (r.pageInfo) out.pageInfo = r.pageInfo;
    if (c.bench) out.ms = ms;
  } catch (e) {
    out = { error: String(e && e.message ? e.message : e) };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}
