// Two official @instantdb/core clients with a schema against
// instant-devserver: typed, unique and indexed attrs from the schema,
// has-one links seen as objects, lookups on a unique attr, a delete that
// cascades along a link, and a unique violation rejected by the server.
// Env: PORT, APP_ID.
import { client, id, lookup, i, waitFor, check, run }
  from './devserver-client.mjs';

const port = Number(process.env.PORT);
const appId = process.env.APP_ID;

const schema = i.schema({
  entities: {
    goals: i.entity({ title: i.string() }),
    todos: i.entity({ title: i.string() }),
    profiles: i.entity({
      email: i.string().unique().indexed(),
      name: i.string().optional(),
    }),
  },
  links: {
    goalTodos: {
      forward: { on: 'goals', has: 'many', label: 'todos' },
      reverse: { on: 'todos', has: 'one', label: 'goal', onDelete: 'cascade' },
    },
    todoOwner: {
      forward: { on: 'todos', has: 'one', label: 'owner' },
      reverse: { on: 'profiles', has: 'many', label: 'todos' },
    },
  },
});

run('devserver-schema', async () => {
  check(port > 0 && appId, 'PORT and APP_ID');
  const a = client(port, appId, 'schema-A', schema);
  const b = client(port, appId, 'schema-B', schema);
  const g = id();
  const t1 = id();
  const t2 = id();
  const owner = lookup('email', 'owner@example.com');
  await a.transact([
    a.tx.profiles[owner].update({ name: 'Owner' }),
    a.tx.goals[g].create({ title: 'ship' }),
    a.tx.todos[t1].create({ title: 'build' }).link({ goal: g, owner }),
    a.tx.todos[t2].create({ title: 'test' }).link({ goal: g }),
  ]);
  const q = { goals: { todos: { owner: {} } } };
  const d = await waitFor(b, q, (x) => x.goals.some((y) => y.id === g &&
    y.todos.length === 2), 'B to see the goal and its todos');
  const built = d.goals.find((y) => y.id === g).todos
    .find((t) => t.id === t1);
  check(built.owner && !Array.isArray(built.owner) &&
    built.owner.email === 'owner@example.com' && built.owner.name === 'Owner',
    `a has-one link is an object, got ${JSON.stringify(built.owner)}`);

  await a.transact(a.tx.profiles[owner].update({ name: 'Renamed' }));
  await waitFor(b, { profiles: {} }, (x) => x.profiles.length === 1 &&
    x.profiles[0].name === 'Renamed', 'the lookup to update the one profile');

  await a.transact(a.tx.goals[g].delete());
  await waitFor(b, { todos: {} }, (x) => !x.todos.some((t) =>
    t.id === t1 || t.id === t2), 'deleting the goal to delete its todos');
  await waitFor(b, { profiles: {} }, (x) => x.profiles.length === 1,
    'the owner to survive (no cascade that way)');

  let err;
  try {
    await a.transact(a.tx.profiles[id()].create({ email: 'owner@example.com' }));
  } catch (e) {
    err = e;
  }
  check(err && /unique attribute/.test(err.message),
    `a second profile with the same email is rejected, got ${err?.message}`);
  await waitFor(a, { profiles: {} }, (x) => x.profiles.length === 1,
    'the rejected profile to be rolled back');
});
