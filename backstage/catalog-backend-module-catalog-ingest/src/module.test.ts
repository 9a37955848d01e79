import type {
  LoggerService,
  SchedulerServiceTaskInvocationDefinition,
  SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend, TestBackend } from '@backstage/backend-test-utils';
import type { Entity } from '@backstage/catalog-model';
import {
  catalogProcessingExtensionPoint,
  DeferredEntity,
  EntityProvider,
  EntityProviderConnection,
  EntityProviderMutation,
} from '@backstage/plugin-catalog-node';
import knexFactory, { Knex } from 'knex';
import { component, FakeCatalogService, refOf } from './__testUtils__/fakeService';
import { catalogModuleCatalogIngest } from './module';
import { CatalogIngestEntityProvider, LOCATION_KEY, RunSummary } from './provider';
import { CatalogIngestStore, REFS_TABLE, STATE_TABLE } from './store';

const TOKEN = 'secret-read-token-0123456789';

/** Backstage's side of the provider: applies mutations to a map, can be told to fail. */
class FakeCatalog implements EntityProviderConnection {
  readonly entities = new Map<string, DeferredEntity>();
  readonly mutations: Array<Extract<EntityProviderMutation, { type: 'delta' }>> = [];
  failures = 0;

  async applyMutation(mutation: EntityProviderMutation): Promise<void> {
    if (mutation.type !== 'delta') {
      throw new Error('the provider must only send delta mutations');
    }
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('catalog database unavailable');
    }
    this.mutations.push(mutation);
    for (const removed of mutation.removed) {
      const ref = 'entityRef' in removed ? removed.entityRef : refOf(removed.entity);
      this.entities.delete(ref);
    }
    for (const added of mutation.added) {
      this.entities.set(refOf(added.entity), added);
    }
  }

  async refresh(): Promise<void> {}

  refs(): string[] {
    return [...this.entities.keys()].sort();
  }
}

interface Harness {
  backend: TestBackend;
  provider: CatalogIngestEntityProvider;
  catalog: FakeCatalog;
  store: CatalogIngestStore;
  task?: SchedulerServiceTaskScheduleDefinition & SchedulerServiceTaskInvocationDefinition;
  logs: string[];
  run(): Promise<RunSummary>;
}

function newKnex(): Knex {
  return knexFactory({
    client: 'better-sqlite3',
    connection: { filename: ':memory:' },
    useNullAsDefault: true,
  });
}

function capturingLogger(logs: string[]): LoggerService {
  const logger: LoggerService = {
    error: (message, meta) => logs.push(`error ${message} ${meta ? JSON.stringify(meta) : ''}`),
    warn: (message, meta) => logs.push(`warn ${message} ${meta ? JSON.stringify(meta) : ''}`),
    info: (message, meta) => logs.push(`info ${message} ${meta ? JSON.stringify(meta) : ''}`),
    debug: (message, meta) => logs.push(`debug ${message} ${meta ? JSON.stringify(meta) : ''}`),
    child: () => logger,
  };
  return logger;
}

describe('catalogModuleCatalogIngest', () => {
  let service: FakeCatalogService;
  let knex: Knex;
  const backends: TestBackend[] = [];

  beforeEach(async () => {
    service = new FakeCatalogService(TOKEN);
    await service.start();
    knex = newKnex();
  });

  afterEach(async () => {
    for (const backend of backends.splice(0)) {
      await backend.stop();
    }
    await service.stop();
    await knex.destroy();
  });

  async function start(
    settings: { batchSize?: number; maxBatchesPerRun?: number; token?: string } = {},
  ): Promise<Harness> {
    const providers: EntityProvider[] = [];
    const logs: string[] = [];
    const harness: Partial<Harness> = { logs };
    const scheduler = mockServices.scheduler.mock({
      async scheduleTask(task) {
        harness.task = task;
      },
    });
    const backend = await startTestBackend({
      extensionPoints: [
        [
          catalogProcessingExtensionPoint,
          {
            addEntityProvider: (...added: Array<EntityProvider | EntityProvider[]>) => {
              providers.push(...added.flat());
            },
          },
        ],
      ],
      features: [
        catalogModuleCatalogIngest,
        mockServices.rootConfig.factory({
          data: {
            catalogIngest: {
              baseUrl: `${service.baseUrl}/`,
              token: settings.token ?? TOKEN,
              batchSize: settings.batchSize ?? 3,
              maxBatchesPerRun: settings.maxBatchesPerRun ?? 100,
              schedule: { frequency: { seconds: 7 }, timeout: { minutes: 2 } },
            },
          },
        }),
        mockServices.database.factory({ knex }),
        scheduler.factory,
        mockServices.logger.mock(capturingLogger(logs)).factory,
      ],
    });
    backends.push(backend);
    expect(providers).toHaveLength(1);
    const provider = providers[0] as CatalogIngestEntityProvider;
    const catalog = new FakeCatalog();
    await provider.connect(catalog);
    return {
      ...(harness as Harness),
      backend,
      provider,
      catalog,
      store: new CatalogIngestStore(knex, provider.getProviderName()),
      run: () => provider.run(),
      get task() {
        return harness.task;
      },
    };
  }

  async function storedPosition(): Promise<number> {
    const row = await knex(STATE_TABLE).first('position');
    return row ? Number(row.position) : 0;
  }

  async function appliedRefs(): Promise<string[]> {
    const rows = await knex(REFS_TABLE).orderBy('entity_ref').select('entity_ref');
    return rows.map(row => row.entity_ref);
  }

  it('registers one provider, creates its tables and schedules itself as configured', async () => {
    const h = await start();
    expect(h.provider.getProviderName()).toBe('catalog-ingest');
    expect(await knex.schema.hasTable(STATE_TABLE)).toBe(true);
    expect(await knex.schema.hasTable(REFS_TABLE)).toBe(true);
    expect(h.task).toMatchObject({
      id: 'catalog-ingest:refresh',
      frequency: { seconds: 7 },
      timeout: { minutes: 2 },
    });

    // The scheduled function is the pull itself.
    service.upsert(component('a'), component('b'));
    await h.task!.fn(new AbortController().signal);
    expect(h.catalog.refs()).toEqual(['component:default/a', 'component:default/b']);
  });

  it('applies the feed in batches and stores the position only after each batch', async () => {
    const h = await start({ batchSize: 3 });
    const entities = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map(name => component(name));
    service.upsert(...entities);

    // Observe the stored position at the moment each mutation is applied.
    const positionsAtApply: number[] = [];
    const apply = h.catalog.applyMutation.bind(h.catalog);
    h.catalog.applyMutation = async mutation => {
      positionsAtApply.push(await storedPosition());
      await apply(mutation);
    };

    const summary = await h.run();
    expect(summary).toMatchObject({ batches: 3, added: 7, removed: 0, drained: true, position: 7 });
    expect(positionsAtApply).toEqual([0, 3, 6]);
    expect(await storedPosition()).toBe(7);
    // One log line per applied batch, with where its time went (bench/backstage.py reads it).
    const batchLines = h.logs.filter(line => line.includes('applied feed batch'));
    expect(batchLines).toHaveLength(3);
    expect(batchLines[0]).toMatch(
      /^info catalog-ingest applied feed batch after=0 next=3 added=3 removed=0 fetch_ms=\d+\.\d apply_ms=\d+\.\d store_ms=\d+\.\d /,
    );
    expect(h.catalog.mutations.map(m => m.added.length)).toEqual([3, 3, 1]);
    expect(h.catalog.refs()).toEqual(entities.map(refOf).sort());
    expect(await appliedRefs()).toEqual(entities.map(refOf).sort());

    // after= follows nextPosition; limit= is batchSize; the last request finds the feed drained.
    expect(service.feedRequests().map(r => r.query.get('after'))).toEqual(['0', '3', '6', '7']);
    expect(service.feedRequests().every(r => r.query.get('limit') === '3')).toBe(true);

    // Entities keep their annotations and all carry the provider's location key.
    const applied = h.catalog.entities.get('component:default/a')!;
    expect(applied.locationKey).toBe(LOCATION_KEY);
    expect(applied.entity.metadata.annotations).toEqual(entities[0].metadata.annotations);
    expect(applied.entity.spec).toEqual(entities[0].spec);

    // Nothing new: one request, nothing applied.
    const again = await h.run();
    expect(again).toMatchObject({ batches: 0, drained: true, position: 7 });
    expect(h.catalog.mutations).toHaveLength(3);
  });

  it('sends the bearer token on every request', async () => {
    const h = await start({ batchSize: 2 });
    service.upsert(component('a'), component('b'), component('c'));
    await h.run();
    service.compact();
    service.upsert(component('d'));
    await knex(STATE_TABLE).update({ position: 1 });
    await h.run();
    expect(service.feedRequests().length).toBeGreaterThan(2);
    expect(service.queryRequests().length).toBeGreaterThan(0);
    expect(service.requests.every(r => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('applies upserts and tombstones as one delta, the last change of a ref winning', async () => {
    const h = await start({ batchSize: 10 });
    service.upsert(component('a'), component('b'), component('c'));
    await h.run();
    service.upsert(component('a', { lifecycle: 'deprecated' }));
    service.remove('component:default/b');
    service.upsert(component('d'));
    service.remove('component:default/d');
    await h.run();
    const last = h.catalog.mutations[h.catalog.mutations.length - 1];
    expect(last.added.map(d => refOf(d.entity))).toEqual(['component:default/a']);
    expect(last.removed).toEqual([
      { entityRef: 'component:default/b', locationKey: LOCATION_KEY },
      { entityRef: 'component:default/d', locationKey: LOCATION_KEY },
    ]);
    expect(h.catalog.refs()).toEqual(['component:default/a', 'component:default/c']);
    expect(h.catalog.entities.get('component:default/a')!.entity.spec).toMatchObject({
      lifecycle: 'deprecated',
    });
    expect(await appliedRefs()).toEqual(['component:default/a', 'component:default/c']);
    expect(await storedPosition()).toBe(7);
  });

  it('keeps the position when applyMutation fails, and re-applies that batch next run', async () => {
    const h = await start({ batchSize: 2 });
    service.upsert(...['a', 'b', 'c', 'd', 'e'].map(name => component(name)));
    h.catalog.failures = 0;
    // The second batch fails.
    const apply = h.catalog.applyMutation.bind(h.catalog);
    let calls = 0;
    h.catalog.applyMutation = async mutation => {
      calls += 1;
      if (calls === 2) {
        throw new Error('catalog database unavailable');
      }
      await apply(mutation);
    };
    await expect(h.run()).rejects.toThrow('catalog database unavailable');
    expect(await storedPosition()).toBe(2);
    expect(await appliedRefs()).toEqual(['component:default/a', 'component:default/b']);

    const requestsBefore = service.feedRequests().length;
    const summary = await h.run();
    expect(service.feedRequests()[requestsBefore].query.get('after')).toBe('2');
    expect(summary).toMatchObject({ batches: 2, added: 3, position: 5, drained: true });
    expect(h.catalog.refs()).toEqual(['a', 'b', 'c', 'd', 'e'].map(n => `component:default/${n}`));
  });

  it('a failed scheduled run is logged without the token, and the next run retries', async () => {
    const h = await start({ batchSize: 5 });
    service.upsert(component('a'));
    service.failNext(503);
    await h.task!.fn(new AbortController().signal);
    expect(h.catalog.refs()).toEqual([]);
    expect(await storedPosition()).toBe(0);
    const failure = h.logs.find(line => line.startsWith('error'));
    expect(failure).toContain('answered 503');
    expect(failure).toContain('ServiceUnavailableError: injected failure');

    await h.task!.fn(new AbortController().signal);
    expect(h.catalog.refs()).toEqual(['component:default/a']);
    expect(h.logs.join('\n')).not.toContain(TOKEN);
  });

  it('a wrong token is a logged 401, never echoing the token', async () => {
    const wrong = 'wrong-token-abcdefghijklmnop';
    const h = await start({ token: wrong });
    service.upsert(component('a'));
    await h.task!.fn(new AbortController().signal);
    expect(service.requests[0].authorization).toBe(`Bearer ${wrong}`);
    const failure = h.logs.find(line => line.startsWith('error'));
    expect(failure).toContain('answered 401: AuthenticationError');
    expect(h.logs.join('\n')).not.toContain(wrong);
    expect(h.catalog.refs()).toEqual([]);
  });

  it('bounds the batches of one run; the next run continues', async () => {
    const h = await start({ batchSize: 2, maxBatchesPerRun: 2 });
    service.upsert(...['a', 'b', 'c', 'd', 'e', 'f', 'g'].map(name => component(name)));
    expect(await h.run()).toMatchObject({ batches: 2, drained: false, position: 4 });
    expect(await h.run()).toMatchObject({ batches: 2, drained: false, position: 7 });
    expect(await h.run()).toMatchObject({ batches: 0, drained: true, position: 7 });
    expect(h.catalog.refs()).toHaveLength(7);
  });

  it('resumes from the stored position after a restart', async () => {
    const first = await start({ batchSize: 2 });
    service.upsert(component('a'), component('b'), component('c'));
    await first.run();
    expect(await storedPosition()).toBe(3);
    await first.backend.stop();
    backends.splice(backends.indexOf(first.backend), 1);

    service.upsert(component('d'));
    service.remove('component:default/a');
    const second = await start({ batchSize: 2 });
    const requestsBefore = service.feedRequests().length;
    const summary = await second.run();
    const requests = service.feedRequests().slice(requestsBefore);
    // Exactly one batch fetched with items, then the drained answer; nothing re-read.
    expect(requests.map(r => r.query.get('after'))).toEqual(['3', '5']);
    expect(summary).toMatchObject({ batches: 1, added: 1, removed: 1, position: 5 });
    expect(second.catalog.mutations).toHaveLength(1);
    expect(await appliedRefs()).toEqual([
      'component:default/b',
      'component:default/c',
      'component:default/d',
    ]);
  });

  it('the migration is idempotent', async () => {
    const store = new CatalogIngestStore(knex, 'catalog-ingest');
    await store.migrate();
    await store.migrate();
    await start();
    await start();
    expect(await knex.schema.hasTable(REFS_TABLE)).toBe(true);
  });

  it('relists page by page and removes exactly what vanished, then follows the feed', async () => {
    const h = await start({ batchSize: 4 });
    const names = Array.from({ length: 10 }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
    service.upsert(...names.map(name => component(name)));
    await h.run();
    expect(h.catalog.refs()).toHaveLength(10);

    // While the module is not looking: 3 removed, 1 changed, 2 added, then the window moves on.
    service.remove('component:default/svc-01', 'component:default/svc-05', 'component:default/svc-09');
    service.upsert(component('svc-02', { lifecycle: 'experimental' }));
    service.upsert(component('new-a'), component('new-b'));
    service.compact();
    const head = service.headPosition();

    const mutationsBefore = h.catalog.mutations.length;
    const summary = await h.run();
    expect(summary).toMatchObject({ relisted: true, drained: true, position: head });

    const relist = h.catalog.mutations.slice(mutationsBefore);
    // 9 entities in pages of 4: 3 pages of additions, then the removals in one page.
    expect(relist.map(m => [m.added.length, m.removed.length])).toEqual([
      [4, 0],
      [4, 0],
      [1, 0],
      [0, 3],
    ]);
    expect(relist[3].removed).toEqual(
      ['svc-01', 'svc-05', 'svc-09'].map(n => ({
        entityRef: `component:default/${n}`,
        locationKey: LOCATION_KEY,
      })),
    );
    expect(h.catalog.refs()).toEqual(service.refs());
    expect(await appliedRefs()).toEqual(service.refs());
    expect(h.catalog.entities.get('component:default/svc-02')!.entity.spec).toMatchObject({
      lifecycle: 'experimental',
    });

    // The read API was walked with cursors, limit = batchSize.
    const queries = service.queryRequests();
    expect(queries.map(q => q.query.get('limit'))).toEqual(['4', '4', '4']);
    expect(queries[0].query.get('cursor')).toBeNull();
    expect(queries[1].query.get('cursor')).toBeTruthy();

    // Then it continues from the head the relist answer gave.
    expect(await storedPosition()).toBe(head);
    service.upsert(component('after-relist'));
    service.remove('component:default/svc-00');
    const requestsBefore = service.feedRequests().length;
    await h.run();
    expect(service.feedRequests()[requestsBefore].query.get('after')).toBe(String(head));
    expect(h.catalog.refs()).toEqual(service.refs());
    expect(await appliedRefs()).toEqual(service.refs());
    expect(service.queryRequests()).toHaveLength(3);
  });

  it('an interrupted relist is started again and still converges', async () => {
    const h = await start({ batchSize: 2 });
    service.upsert(...['a', 'b', 'c', 'd', 'e'].map(name => component(name)));
    await h.run();
    service.remove('component:default/b', 'component:default/d');
    service.upsert(component('f'));
    service.compact();

    // The relist's second page fails to apply.
    const apply = h.catalog.applyMutation.bind(h.catalog);
    let calls = 0;
    h.catalog.applyMutation = async mutation => {
      calls += 1;
      if (calls === 2) {
        throw new Error('catalog database unavailable');
      }
      await apply(mutation);
    };
    await expect(h.run()).rejects.toThrow('catalog database unavailable');
    expect(await storedPosition()).toBe(5);

    const summary = await h.run();
    expect(summary).toMatchObject({ relisted: true, position: service.headPosition() });
    expect(h.catalog.refs()).toEqual(service.refs());
    expect(await appliedRefs()).toEqual(service.refs());
    expect(await h.store.staleRefs(Number.MAX_SAFE_INTEGER, 100)).toEqual(service.refs());
  });

  it('refuses to start without a token', async () => {
    await expect(
      startTestBackend({
        extensionPoints: [[catalogProcessingExtensionPoint, { addEntityProvider: () => {} }]],
        features: [
          catalogModuleCatalogIngest,
          mockServices.rootConfig.factory({
            data: { catalogIngest: { baseUrl: service.baseUrl } },
          }),
          mockServices.database.factory({ knex }),
        ],
      }),
    ).rejects.toThrow(/token/);
  });

  it('strips fields Backstage owns and keeps the rest of the entity', async () => {
    const h = await start();
    const entity: Entity = {
      ...component('x'),
      relations: [{ type: 'ownedBy', targetRef: 'group:default/team-a' }],
    };
    (entity.metadata as Record<string, unknown>).uid = 'abc';
    (entity.metadata as Record<string, unknown>).etag = 'def';
    service.upsert(entity);
    await h.run();
    const applied = h.catalog.entities.get('component:default/x')!.entity;
    expect(applied.relations).toBeUndefined();
    expect(applied.metadata.uid).toBeUndefined();
    expect(applied.metadata.etag).toBeUndefined();
    expect(applied.metadata.annotations).toEqual(component('x').metadata.annotations);
  });
});
