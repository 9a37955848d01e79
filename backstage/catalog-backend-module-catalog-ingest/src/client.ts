import type { Entity } from '@backstage/catalog-model';

/** One item of the change feed: an upsert (`entity` set) or a removal tombstone (`entity: null`). */
export interface FeedItem {
  position: number;
  /** `kind:namespace/name`, lower-cased. */
  ref: string;
  entity: Entity | null;
}

/** `GET /api/catalog/feed` answer. */
export interface FeedPage {
  items: FeedItem[];
  nextPosition: number;
  relist: boolean;
}

/** `GET /api/catalog/entities/by-query` answer (Backstage's shape). */
export interface EntityPage {
  items: Entity[];
  totalItems?: number;
  pageInfo: { nextCursor?: string; prevCursor?: string };
}

/**
 * A failed request to the service. The message names the method, the path, the status and
 * the service's error envelope (`{error: {name, message}}`); it never contains the token.
 */
export class CatalogIngestRequestError extends Error {
  override readonly name = 'CatalogIngestRequestError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface CatalogIngestClientOptions {
  baseUrl: string;
  token: string;
  requestTimeoutMs: number;
  /** For tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPosition(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Reads the change feed and the read API of the catalog-ingest HTTP service. */
export class CatalogIngestClient {
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: CatalogIngestClientOptions) {
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** `GET /api/catalog/feed?after=&limit=`, checked against the contract. */
  async readFeed(after: number, limit: number): Promise<FeedPage> {
    const query = new URLSearchParams({ after: String(after), limit: String(limit) });
    const path = `/api/catalog/feed?${query}`;
    const body = await this.getJson(path);
    if (
      !isRecord(body) ||
      !Array.isArray(body.items) ||
      !isPosition(body.nextPosition) ||
      typeof body.relist !== 'boolean'
    ) {
      throw new CatalogIngestRequestError(
        `GET ${path}: the answer is not a feed page ({items, nextPosition, relist})`,
      );
    }
    let previous = after;
    const items: FeedItem[] = [];
    for (const raw of body.items) {
      if (
        !isRecord(raw) ||
        !isPosition(raw.position) ||
        typeof raw.ref !== 'string' ||
        !(raw.entity === null || isRecord(raw.entity))
      ) {
        throw new CatalogIngestRequestError(
          `GET ${path}: a feed item is not {position, ref, entity}`,
        );
      }
      if (raw.position <= previous) {
        throw new CatalogIngestRequestError(
          `GET ${path}: feed positions do not increase (${raw.position} after ${previous})`,
        );
      }
      previous = raw.position;
      items.push({
        position: raw.position,
        ref: raw.ref,
        entity: raw.entity as Entity | null,
      });
    }
    if (items.length > 0 && body.nextPosition < previous) {
      throw new CatalogIngestRequestError(
        `GET ${path}: nextPosition ${body.nextPosition} is behind the last item ${previous}`,
      );
    }
    return { items, nextPosition: body.nextPosition, relist: body.relist };
  }

  /** One page of `GET /api/catalog/entities/by-query?limit=&cursor=` (full entities). */
  async queryEntities(limit: number, cursor?: string): Promise<EntityPage> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor !== undefined) {
      query.set('cursor', cursor);
    }
    const path = `/api/catalog/entities/by-query?${query}`;
    const body = await this.getJson(path);
    if (!isRecord(body) || !Array.isArray(body.items) || !body.items.every(isRecord)) {
      throw new CatalogIngestRequestError(
        `GET ${path}: the answer is not an entity page ({items, pageInfo})`,
      );
    }
    const pageInfo = isRecord(body.pageInfo) ? body.pageInfo : {};
    const nextCursor =
      typeof pageInfo.nextCursor === 'string' && pageInfo.nextCursor !== ''
        ? pageInfo.nextCursor
        : undefined;
    return {
      items: body.items as unknown as Entity[],
      totalItems: typeof body.totalItems === 'number' ? body.totalItems : undefined,
      pageInfo: { nextCursor },
    };
  }

  /** Belt and braces: a message never carries the token, even if a server echoes it. */
  redact(message: string): string {
    return message.split(this.options.token).join('***');
  }

  private async getJson(path: string): Promise<unknown> {
    const url = `${this.options.baseUrl}${path}`;
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method: 'GET',
        headers: {
          Authorization: `Bearer ${this.options.token}`,
          Accept: 'application/json',
        },
        signal: AbortSignal.timeout(this.options.requestTimeoutMs),
      });
    } catch (error) {
      throw new CatalogIngestRequestError(
        this.redact(`GET ${url} failed: ${describeFetchError(error)}`),
      );
    }
    const text = await response.text();
    if (!response.ok) {
      throw new CatalogIngestRequestError(
        this.redact(`GET ${path} answered ${response.status}: ${describeEnvelope(text)}`),
        response.status,
      );
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new CatalogIngestRequestError(
        `GET ${path} answered ${response.status} with a body that is not JSON`,
        response.status,
      );
    }
  }
}

function describeFetchError(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    return `${error.name}: ${error.message}${detail}`;
  }
  return String(error);
}

/** `name: message` of Backstage's error envelope, or the start of the body. */
function describeEnvelope(text: string): string {
  try {
    const body: unknown = JSON.parse(text);
    if (isRecord(body) && isRecord(body.error)) {
      const name = typeof body.error.name === 'string' ? body.error.name : 'Error';
      const message = typeof body.error.message === 'string' ? body.error.message : '';
      return `${name}: ${message}`.slice(0, 500);
    }
  } catch {
    // not JSON: fall through
  }
  return text.slice(0, 200).replace(/\s+/g, ' ') || '(empty body)';
}
