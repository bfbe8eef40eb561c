// Two official @instantdb/core clients against one instant-devserver:
// subscribe, create/update/merge/link/unlink/delete and lookup
// transactions from one, seen by the other through refresh-ok; a
// transaction the server rejects is rolled back; both converge.
// Env: PORT, CONTROL_PORT, APP_ID.
import { client, id, lookup, waitFor, setFaults, check, run }
  from './devserver-client.mjs';

const port = Number(process.env.PORT);
const controlPort = Number(process.env.CONTROL_PORT);
const appId = process.env.APP_ID;

const goalsQ = { goals: { todos: {} } };

// The goal with id g in a goals result, or undefined.
function goal(data, g) {
  return data.goals.find((x) => x.id === g);
}

async function crud(a, b) {
  const g = id();
  await a.transact(a.tx.goals[g].create({ title: 'first', priority: 1 }));
  await waitFor(b, goalsQ, (d) => goal(d, g)?.title === 'first',
    'B to see the created goal');

  await a.transact(a.tx.goals[g].update({ title: 'renamed' }));
  await waitFor(b, goalsQ, (d) => goal(d, g)?.title === 'renamed' &&
    goal(d, g)?.priority === 1, 'B to see the update');

  await a.transact(a.tx.goals[g].merge({ meta: { a: { b: 1 }, c: 2 } }));
  await a.transact(a.tx.goals[g].merge({ meta: { a: { x: 5 }, c: null } }));
  await waitFor(b, goalsQ, (d) => JSON.stringify(goal(d, g)?.meta) ===
    JSON.stringify({ a: { b: 1, x: 5 } }), 'B to see the deep merge');

  const t = id();
  await a.transact([
    a.tx.todos[t].update({ title: 'write tests' }),
    a.tx.goals[g].link({ todos: t }),
  ]);
  await waitFor(b, goalsQ, (d) => goal(d, g)?.todos.length === 1 &&
    goal(d, g).todos[0].title === 'write tests', 'B to see the link');

  await a.transact(a.tx.goals[g].unlink({ todos: t }));
  await waitFor(b, goalsQ, (d) => goal(d, g)?.todos.length === 0,
    'B to see the unlink');

  await a.transact(a.tx.goals[g].delete());
  await waitFor(b, goalsQ, (d) => goal(d, g) === undefined,
    'B to see the delete');
  await waitFor(b, { todos: {} }, (d) => d.todos.some((x) => x.id === t),
    'the unlinked todo to survive its goal');
}

async function lookups(a, b) {
  const q = { profiles: {} };
  await a.transact(a.tx.profiles[lookup('handle', 'ada')]
    .update({ name: 'Ada' }));
  const d1 = await waitFor(b, q, (d) => d.profiles.some((p) =>
    p.handle === 'ada' && p.name === 'Ada'), 'B to see the upserted profile');
  const pid = d1.profiles.find((p) => p.handle === 'ada').id;
  await a.transact(a.tx.profiles[lookup('handle', 'ada')]
    .update({ name: 'Ada L.' }));
  const d2 = await waitFor(b, q, (d) => d.profiles.some((p) =>
    p.name === 'Ada L.'), 'B to see the update through the lookup');
  check(d2.profiles.filter((p) => p.handle === 'ada').length === 1 &&
    d2.profiles.find((p) => p.handle === 'ada').id === pid,
    'a lookup of an existing value updates that entity');
}

async function rejected(a) {
  await setFaults(controlPort, { 'deny-namespaces': ['secrets'] });
  const s = id();
  const q = { secrets: {} };
  // Watch the query from before the write, to see the optimistic row
  // appear and then go away.
  let sawOptimistic = false;
  const unsub = a.subscribeQuery(q, (r) => {
    if (r.data?.secrets.some((x) => x.id === s)) sawOptimistic = true;
  });
  await waitFor(a, q, (d) => d.secrets.length === 0, 'the empty secrets');
  let err;
  try {
    await a.transact(a.tx.secrets[s].update({ v: 1 }));
  } catch (e) {
    err = e;
  }
  unsub();
  check(sawOptimistic, 'the denied write was first applied optimistically');
  check(err !== undefined, 'a denied transaction rejects');
  check(/Permission denied/.test(err.message),
    `the rejection is permission-denied, got ${err.message}`);
  await waitFor(a, q, (d) => !d.secrets.some((x) => x.id === s),
    'the optimistic change to be rolled back');
  await setFaults(controlPort, { 'deny-namespaces': [] });

  const g = id();
  await a.transact(a.tx.goals[g].create({ title: 'once' }));
  err = undefined;
  try {
    await a.transact(a.tx.goals[g].create({ title: 'twice' }));
  } catch (e) {
    err = e;
  }
  check(err !== undefined && /Creating entities that exist/.test(err.message),
    `create of an existing entity is rejected, got ${err?.message}`);
  await waitFor(a, goalsQ, (d) => goal(d, g)?.title === 'once',
    'the rejected create to leave the entity as it was');
}

async function pages(a, b) {
  const ids = [];
  for (let i = 0; i < 5; i++) {
    const p = id();
    ids.push(p);
    await a.transact(a.tx.pages[p].update({ n: i }));
    // Distinct creation times (ms) make the default order unambiguous.
    await new Promise((r) => setTimeout(r, 3));
  }
  const first = await waitFor(b, { pages: { $: { limit: 2 } } },
    (d) => d.pages.length === 2, 'the first page');
  check(first.pages[0].id === ids[0] && first.pages[1].id === ids[1],
    `the first page holds the oldest two, got ${JSON.stringify(first.pages)}`);
  const r = await b.queryOnce({ pages: { $: { limit: 2 } } });
  check(r.pageInfo?.pages?.hasNextPage === true &&
    r.pageInfo.pages.hasPreviousPage === false,
    `page-info of the first page, got ${JSON.stringify(r.pageInfo)}`);
  const second = await waitFor(b, { pages: { $: { limit: 2, offset: 2 } } },
    (d) => d.pages.length === 2, 'the offset page');
  check(second.pages[0].id === ids[2] && second.pages[1].id === ids[3],
    `offset 2 gives the third and fourth, got ${JSON.stringify(second.pages)}`);
  const after = await b.queryOnce({ pages: { $: { first: 2,
    after: r.pageInfo.pages.endCursor } } });
  check(after.data.pages.map((x) => x.id).join() === ids.slice(2, 4).join(),
    `the page after the first, got ${JSON.stringify(after.data.pages)}`);
  const agg = await b.queryOnce({ pages: { $: { aggregate: 'count' } } });
  check(agg.aggregate?.pages?.count === 5,
    `aggregate count, got ${JSON.stringify(agg.aggregate)}`);
}

async function converge(a, b) {
  // Only attrs both clients already know: two clients creating the same
  // new attr at once is rejected by Instant too ("already exists").
  const ids = [];
  const sent = [];
  for (let i = 0; i < 10; i++) {
    const g = id();
    ids.push(g);
    const db = i % 2 ? a : b;
    sent.push(db.transact(db.tx.goals[g].update({ title: `c${i}` })));
  }
  const g0 = ids[0];
  sent.push(a.transact(a.tx.goals[g0].update({ title: 'from A' })));
  sent.push(b.transact(b.tx.goals[g0].update({ title: 'from B' })));
  await Promise.all(sent);
  const all = (d) => ids.every((g) => goal(d, g));
  const ra = await waitFor(a, goalsQ, all, 'A to see all goals');
  const rb = await waitFor(b, goalsQ, all, 'B to see all goals');
  // Wait until both show the same goals, in the same order.
  const same = async () => {
    for (let i = 0; i < 50; i++) {
      const [x, y] = await Promise.all([a.queryOnce(goalsQ),
        b.queryOnce(goalsQ)]);
      if (JSON.stringify(x.data) === JSON.stringify(y.data)) return x.data;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('clients did not converge');
  };
  const d = await same();
  check(ra && rb && d.goals.length >= 10, 'converged results hold the goals');
}

run('devserver-interop', async () => {
  check(port > 0 && controlPort > 0 && appId, 'PORT, CONTROL_PORT, APP_ID');
  const a = client(port, appId, 'A');
  const b = client(port, appId, 'B');
  await crud(a, b);
  await lookups(a, b);
  await rejected(a);
  await pages(a, b);
  await converge(a, b);
});
