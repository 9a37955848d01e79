import knexFactory, { Knex } from 'knex';
import { CatalogIngestStore, REFS_TABLE, STATE_TABLE } from './store';

/**
 * The store on both databases a Backstage catalog runs on here: SQLite (better-sqlite3, as in
 * tests and the e2e backend) and PostgreSQL (production; BIGINT positions come back as strings,
 * upserts are `ON CONFLICT`). PostgreSQL is the project's test server: `DATABASE_URL`, default
 * postgresql://postgres@127.0.0.1:5432/postgres; each run works in a scratch database it drops.
 */
const POSTGRES_URL = (
  process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres'
).replace(/^postgres(ql)?(\+\w+)?:/, 'postgresql:');

interface Opened {
  db: Knex;
  close(): Promise<void>;
}

async function open(kind: string): Promise<Opened> {
  if (kind === 'sqlite') {
    const db = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: ':memory:' },
      useNullAsDefault: true,
    });
    return { db, close: () => db.destroy() };
  }
  const admin = knexFactory({ client: 'pg', connection: POSTGRES_URL, pool: { min: 0, max: 1 } });
  const name = `catalog_ingest_module_test_${process.pid}_${Date.now()}`;
  await admin.raw('CREATE DATABASE ??', [name]);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  const db = knexFactory({ client: 'pg', connection: url.toString() });
  return {
    db,
    async close() {
      await db.destroy();
      await admin.raw('DROP DATABASE IF EXISTS ??', [name]);
      await admin.destroy();
    },
  };
}

describe.each(['sqlite', 'postgresql'])('CatalogIngestStore on %s', kind => {
  let opened: Opened;
  let db: Knex;

  beforeEach(async () => {
    opened = await open(kind);
    db = opened.db;
  });

  afterEach(async () => {
    await opened.close();
  });

  it('migrates idempotently, also twice at once', async () => {
    await Promise.all([
      new CatalogIngestStore(db, 'a').migrate(),
      new CatalogIngestStore(db, 'b').migrate(),
    ]);
    await new CatalogIngestStore(db, 'a').migrate();
    expect(await db.schema.hasTable(STATE_TABLE)).toBe(true);
    expect(await db.schema.hasTable(REFS_TABLE)).toBe(true);
  });

  it('keeps positions beyond 32 bits as numbers, per provider', async () => {
    const store = new CatalogIngestStore(db, 'catalog-ingest');
    const other = new CatalogIngestStore(db, 'other');
    await store.migrate();
    expect(await store.getState()).toEqual({ position: 0, generation: 0 });
    const big = 2 ** 40 + 7;
    await store.commitFeedBatch({
      added: ['component:default/a'],
      removed: [],
      nextPosition: big,
      generation: 0,
    });
    const state = await store.getState();
    expect(state).toEqual({ position: big, generation: 0 });
    expect(typeof state.position).toBe('number');
    expect(await other.getState()).toEqual({ position: 0, generation: 0 });
    await store.setPosition(big + 1);
    expect((await store.getState()).position).toBe(big + 1);
  });

  it('records and forgets refs in chunks larger than one statement', async () => {
    const store = new CatalogIngestStore(db, 'catalog-ingest');
    await store.migrate();
    const refs = Array.from({ length: 1000 }, (_, i) => `component:default/c-${String(i).padStart(4, '0')}`);
    await store.commitFeedBatch({ added: refs, removed: [], nextPosition: 1000, generation: 0 });
    expect(await store.countRefs()).toBe(1000);
    // Upserting again is no duplicate; removals go in the same transaction.
    await store.commitFeedBatch({
      added: refs.slice(0, 10),
      removed: refs.slice(500),
      nextPosition: 1600,
      generation: 0,
    });
    expect(await store.countRefs()).toBe(500);
    expect((await store.getState()).position).toBe(1600);
  });

  it('relist generations: stale refs are what the newest generation did not tag', async () => {
    const store = new CatalogIngestStore(db, 'catalog-ingest');
    await store.migrate();
    await store.commitFeedBatch({
      added: ['api:default/x', 'component:default/a', 'component:default/b'],
      removed: [],
      nextPosition: 3,
      generation: 0,
    });
    const first = await store.beginRelist();
    expect(first).toBe(1);
    expect((await store.getState()).generation).toBe(1);
    await store.recordRelistPage(['component:default/a'], first);
    expect(await store.staleRefs(first, 1)).toEqual(['api:default/x']);
    expect(await store.staleRefs(first, 10)).toEqual(['api:default/x', 'component:default/b']);
    await store.forgetRefs(['api:default/x']);
    expect(await store.staleRefs(first, 10)).toEqual(['component:default/b']);
    // An interrupted relist: the next one is newer than every ref, whatever the state says.
    await db(STATE_TABLE).update({ generation: 0 });
    expect(await store.beginRelist()).toBe(2);
  });
});
