import type {
  LoggerService,
  SchedulerService,
  SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import type {
  DeferredEntity,
  EntityProvider,
  EntityProviderConnection,
} from '@backstage/plugin-catalog-node';
import { CatalogIngestClient, FeedItem } from './client';
import { CatalogIngestStore } from './store';

export const PROVIDER_NAME = 'catalog-ingest';

/**
 * Every entity of this provider is applied with this one `locationKey`. Backstage removes and
 * re-adds an entity whose key changes, and refuses a ref another source holds under another
 * key; a constant key keeps updates in place when the service changes which of its sources
 * wins a ref. The entity's own `backstage.io/managed-by-location` /
 * `managed-by-origin-location` annotations are kept as the service stamped them.
 */
export const LOCATION_KEY = `${PROVIDER_NAME}:feed`;

export interface CatalogIngestProviderOptions {
  client: CatalogIngestClient;
  store: CatalogIngestStore;
  logger: LoggerService;
  scheduler: SchedulerService;
  schedule: SchedulerServiceTaskScheduleDefinition;
  batchSize: number;
  maxBatchesPerRun: number;
}

/** What one run did (also logged). */
export interface RunSummary {
  /** Feed batches fetched that carried items and were applied. */
  batches: number;
  added: number;
  removed: number;
  /** Whether a relist ran. */
  relisted: boolean;
  /** True when the run stopped because the feed was drained (not because of the bound). */
  drained: boolean;
  position: number;
}

/** `kind:namespace/name`, lower-cased, as the feed spells refs. */
export function entityRefOf(entity: Entity): string {
  // Backstage's own: lower-cased, `default` namespace filled in (its refresh_state key).
  return stringifyEntityRef(entity);
}

/**
 * The entity as a provider gives it to Backstage: annotations kept, and the fields Backstage
 * owns itself (uid, etag, generation, relations, status) dropped if a server sent them.
 */
export function toDeferredEntity(entity: Entity): DeferredEntity {
  const { relations: _relations, status: _status, ...rest } = entity as Entity & {
    status?: unknown;
  };
  const {
    uid: _uid,
    etag: _etag,
    generation: _generation,
    ...metadata
  } = rest.metadata as Entity['metadata'] & { generation?: unknown };
  return { entity: { ...rest, metadata } as Entity, locationKey: LOCATION_KEY };
}

/**
 * Pulls the change feed of the catalog-ingest HTTP service and applies it as delta mutations.
 * The position moves only after `applyMutation` of a batch succeeded, so a crash or a restart
 * re-applies at most one batch.
 */
export class CatalogIngestEntityProvider implements EntityProvider {
  private connection?: EntityProviderConnection;
  private running?: Promise<RunSummary>;

  constructor(private readonly options: CatalogIngestProviderOptions) {}

  getProviderName(): string {
    return PROVIDER_NAME;
  }

  async connect(connection: EntityProviderConnection): Promise<void> {
    this.connection = connection;
    await this.options.scheduler.scheduleTask({
      ...this.options.schedule,
      id: `${PROVIDER_NAME}:refresh`,
      fn: async () => {
        try {
          await this.run();
        } catch (error) {
          // The next scheduled run retries from the stored position.
          this.options.logger.error(
            `catalog-ingest run failed, the next run retries: ${this.describe(error)}`,
          );
        }
      },
    });
  }

  /** One run: applies feed batches until the feed is drained or `maxBatchesPerRun` is hit. */
  async run(): Promise<RunSummary> {
    // One run at a time in this process (the scheduler does not overlap a task either).
    if (this.running) {
      return this.running;
    }
    this.running = this.runOnce();
    try {
      return await this.running;
    } finally {
      this.running = undefined;
    }
  }

  private async runOnce(): Promise<RunSummary> {
    const connection = this.connection;
    if (!connection) {
      throw new Error('catalog-ingest provider is not connected to the catalog yet');
    }
    const { client, store, logger, batchSize, maxBatchesPerRun } = this.options;
    const summary: RunSummary = {
      batches: 0,
      added: 0,
      removed: 0,
      relisted: false,
      drained: false,
      position: 0,
    };
    let state = await store.getState();
    let requests = 0;
    while (requests < maxBatchesPerRun) {
      requests += 1;
      const after = state.position;
      const fetchStarted = performance.now();
      const page = await client.readFeed(after, batchSize);
      const fetchMs = performance.now() - fetchStarted;
      if (page.relist) {
        await this.relist(connection, page.nextPosition);
        summary.relisted = true;
        state = await store.getState();
        continue;
      }
      if (page.items.length === 0) {
        // Drained (the contract answers nextPosition == after; a server that skips ahead
        // over positions it will never fill is followed).
        if (page.nextPosition > after) {
          await store.setPosition(page.nextPosition);
          state = { ...state, position: page.nextPosition };
        }
        summary.drained = true;
        break;
      }
      const { added, removed } = this.squash(page.items);
      const applyStarted = performance.now();
      await connection.applyMutation({
        type: 'delta',
        added: added.map(item => toDeferredEntity(item.entity as Entity)),
        removed: removed.map(item => ({ entityRef: item.ref, locationKey: LOCATION_KEY })),
      });
      const applyMs = performance.now() - applyStarted;
      // Only now: the batch is in the catalog.
      const storeStarted = performance.now();
      await store.commitFeedBatch({
        added: added.map(item => item.ref),
        removed: removed.map(item => item.ref),
        nextPosition: page.nextPosition,
        generation: state.generation,
      });
      state = { ...state, position: page.nextPosition };
      summary.batches += 1;
      summary.added += added.length;
      summary.removed += removed.length;
      const storeMs = performance.now() - storeStarted;
      // Where a batch's time goes: the feed request (and its JSON), Backstage's
      // applyMutation (its refresh_state writes), the module's own position commit.
      logger.info(
        `catalog-ingest applied feed batch after=${after} next=${page.nextPosition} ` +
          `added=${added.length} removed=${removed.length} fetch_ms=${fetchMs.toFixed(1)} ` +
          `apply_ms=${applyMs.toFixed(1)} store_ms=${storeMs.toFixed(1)}`,
      );
    }
    summary.position = state.position;
    // An idle run (nothing new) logs at debug: one line per poll would drown the log.
    const idle = summary.batches === 0 && !summary.relisted;
    logger[idle ? 'debug' : 'info'](
      `catalog-ingest run done: batches=${summary.batches} added=${summary.added} ` +
        `removed=${summary.removed} relisted=${summary.relisted} drained=${summary.drained} ` +
        `position=${summary.position}`,
    );
    return summary;
  }

  /** The last item of each ref wins inside a batch (an upsert then a tombstone is a removal). */
  private squash(items: FeedItem[]): { added: FeedItem[]; removed: FeedItem[] } {
    const last = new Map<string, FeedItem>();
    for (const item of items) {
      last.delete(item.ref);
      last.set(item.ref, item);
    }
    const added: FeedItem[] = [];
    const removed: FeedItem[] = [];
    for (const item of last.values()) {
      (item.entity ? added : removed).push(item);
    }
    return { added, removed };
  }

  /**
   * Walks the read API page by page, applying each page as a delta and tagging its refs with
   * a new generation; then removes, page by page, the refs of older generations (applied
   * before, gone now); then continues the feed from `headPosition`. Memory stays at one page.
   */
  private async relist(
    connection: EntityProviderConnection,
    headPosition: number,
  ): Promise<void> {
    const { client, store, logger, batchSize } = this.options;
    const generation = await store.beginRelist();
    logger.info(
      `catalog-ingest relist: walking the read API (generation ${generation}), ` +
        `then continuing the feed after ${headPosition}`,
    );
    let cursor: string | undefined;
    let pages = 0;
    let seen = 0;
    const cursors = new Set<string>();
    do {
      const page = await client.queryEntities(batchSize, cursor);
      const deferred = page.items.map(toDeferredEntity);
      if (deferred.length > 0) {
        await connection.applyMutation({ type: 'delta', added: deferred, removed: [] });
        await store.recordRelistPage(page.items.map(entityRefOf), generation);
      }
      pages += 1;
      seen += deferred.length;
      cursor = page.pageInfo.nextCursor;
      if (cursor !== undefined) {
        if (cursors.has(cursor)) {
          throw new Error(`catalog-ingest relist: the read API repeated a cursor on page ${pages}`);
        }
        cursors.add(cursor);
      }
    } while (cursor !== undefined);

    let removed = 0;
    for (;;) {
      const stale = await store.staleRefs(generation, batchSize);
      if (stale.length === 0) {
        break;
      }
      await connection.applyMutation({
        type: 'delta',
        added: [],
        removed: stale.map(entityRef => ({ entityRef, locationKey: LOCATION_KEY })),
      });
      await store.forgetRefs(stale);
      removed += stale.length;
    }
    await store.setPosition(headPosition);
    logger.info(
      `catalog-ingest relist done: pages=${pages} entities=${seen} removed=${removed} ` +
        `position=${headPosition}`,
    );
  }

  private describe(error: unknown): string {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return this.options.client.redact(text);
  }
}
