import type { Knex } from 'knex';

/** One row per provider: the feed position applied last, and the current relist generation. */
export const STATE_TABLE = 'catalog_ingest_module_state';
/** The refs this provider has applied to the catalog, tagged with the generation that did it. */
export const REFS_TABLE = 'catalog_ingest_module_refs';

/** Rows per INSERT / DELETE statement (SQLite's variable limit, PostgreSQL's parameter limit). */
const STATEMENT_CHUNK = 400;

export interface ProviderState {
  /** The feed position applied last (`after` of the next request). */
  position: number;
  /** Refs applied from now on are tagged with this generation. */
  generation: number;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(items.slice(i, i + size));
  }
  return out;
}

/**
 * The provider's own tables in the catalog plugin's database: its feed position, and the set
 * of refs it applied (so a relist can remove what vanished without a `full` mutation, page by
 * page). The position only moves in the same transaction that records the refs of a batch,
 * and only after `applyMutation` of that batch succeeded.
 */
export class CatalogIngestStore {
  constructor(
    private readonly db: Knex,
    private readonly providerName: string,
  ) {}

  /** Creates the tables if they are missing; safe to run on every start and concurrently. */
  async migrate(): Promise<void> {
    await this.createIfMissing(STATE_TABLE, table => {
      table.string('provider_name', 255).primary().notNullable();
      table.bigInteger('position').notNullable().defaultTo(0);
      table.integer('generation').notNullable().defaultTo(0);
      table.timestamp('updated_at').notNullable().defaultTo(this.db.fn.now());
    });
    await this.createIfMissing(REFS_TABLE, table => {
      table.string('provider_name', 255).notNullable();
      table.string('entity_ref', 255).notNullable();
      table.integer('generation').notNullable();
      table.primary(['provider_name', 'entity_ref']);
      table.index(['provider_name', 'generation'], 'catalog_ingest_module_refs_generation_idx');
    });
  }

  private async createIfMissing(
    name: string,
    build: (table: Knex.CreateTableBuilder) => void,
  ): Promise<void> {
    if (await this.db.schema.hasTable(name)) {
      return;
    }
    try {
      await this.db.schema.createTable(name, build);
    } catch (error) {
      // Another instance may have created it in between.
      if (!(await this.db.schema.hasTable(name))) {
        throw error;
      }
    }
  }

  async getState(): Promise<ProviderState> {
    const row = await this.db(STATE_TABLE)
      .where({ provider_name: this.providerName })
      .first(['position', 'generation']);
    if (!row) {
      return { position: 0, generation: 0 };
    }
    // PostgreSQL returns BIGINT as a string.
    return { position: Number(row.position), generation: Number(row.generation) };
  }

  private async writeState(
    trx: Knex | Knex.Transaction,
    values: Partial<ProviderState>,
  ): Promise<void> {
    const row = {
      provider_name: this.providerName,
      ...values,
      updated_at: this.db.fn.now(),
    };
    await trx(STATE_TABLE).insert(row).onConflict('provider_name').merge();
  }

  private async upsertRefs(
    trx: Knex | Knex.Transaction,
    refs: readonly string[],
    generation: number,
  ): Promise<void> {
    for (const chunk of chunks(refs, STATEMENT_CHUNK)) {
      await trx(REFS_TABLE)
        .insert(
          chunk.map(entity_ref => ({
            provider_name: this.providerName,
            entity_ref,
            generation,
          })),
        )
        .onConflict(['provider_name', 'entity_ref'])
        .merge(['generation']);
    }
  }

  private async deleteRefs(
    trx: Knex | Knex.Transaction,
    refs: readonly string[],
  ): Promise<void> {
    for (const chunk of chunks(refs, STATEMENT_CHUNK)) {
      await trx(REFS_TABLE)
        .where({ provider_name: this.providerName })
        .whereIn('entity_ref', chunk)
        .delete();
    }
  }

  /**
   * After a feed batch was applied: record its refs and move the position, atomically. A crash
   * before this commits leaves the old position, so the next run re-applies the batch.
   */
  async commitFeedBatch(batch: {
    added: readonly string[];
    removed: readonly string[];
    nextPosition: number;
    generation: number;
  }): Promise<void> {
    await this.db.transaction(async trx => {
      await this.upsertRefs(trx, batch.added, batch.generation);
      await this.deleteRefs(trx, batch.removed);
      await this.writeState(trx, { position: batch.nextPosition });
    });
  }

  /** Moves the position with nothing to record (an empty page that still advanced). */
  async setPosition(position: number): Promise<void> {
    await this.writeState(this.db, { position });
  }

  /**
   * Starts a relist: a generation newer than any ref's, stored at once (the position stays, so
   * an interrupted relist is simply started again by the next run, with a newer generation).
   */
  async beginRelist(): Promise<number> {
    return this.db.transaction(async trx => {
      const state = await trx(STATE_TABLE)
        .where({ provider_name: this.providerName })
        .first(['generation']);
      const newest = await trx(REFS_TABLE)
        .where({ provider_name: this.providerName })
        .max({ generation: 'generation' })
        .first();
      const generation =
        Math.max(Number(state?.generation ?? 0), Number(newest?.generation ?? 0)) + 1;
      await this.writeState(trx, { generation });
      return generation;
    });
  }

  /** After a relist page was applied: tag its refs with the relist's generation. */
  async recordRelistPage(refs: readonly string[], generation: number): Promise<void> {
    await this.db.transaction(async trx => {
      await this.upsertRefs(trx, refs, generation);
    });
  }

  /** Up to `limit` refs applied before `generation` (what the relist walk did not see). */
  async staleRefs(generation: number, limit: number): Promise<string[]> {
    const rows: Array<{ entity_ref: string }> = await this.db(REFS_TABLE)
      .where({ provider_name: this.providerName })
      .where('generation', '<', generation)
      .orderBy('entity_ref')
      .limit(limit)
      .select('entity_ref');
    return rows.map(row => row.entity_ref);
  }

  /** After the removal of stale refs was applied: forget them. */
  async forgetRefs(refs: readonly string[]): Promise<void> {
    await this.db.transaction(async trx => {
      await this.deleteRefs(trx, refs);
    });
  }

  /** How many refs this provider believes it has applied (for logs and tests). */
  async countRefs(): Promise<number> {
    const row = await this.db(REFS_TABLE)
      .where({ provider_name: this.providerName })
      .count({ count: '*' })
      .first();
    return Number(row?.count ?? 0);
  }
}
