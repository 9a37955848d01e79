import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Entity } from '@backstage/catalog-model';

interface LogItem {
  position: number;
  ref: string;
  entity: Entity | null;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization?: string;
}

export function component(name: string, extra: Record<string, unknown> = {}): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name,
      namespace: 'default',
      annotations: {
        'backstage.io/managed-by-location': 'catalog-ingest:provider:fake',
        'backstage.io/managed-by-origin-location': 'catalog-ingest:provider:fake',
      },
    },
    spec: { type: 'service', lifecycle: 'production', owner: 'team-a', ...extra },
  };
}

export function refOf(entity: Entity): string {
  return `${entity.kind}:${entity.metadata.namespace ?? 'default'}/${entity.metadata.name}`.toLowerCase();
}

/**
 * An in-memory stand-in for the catalog-ingest HTTP service, speaking the feed contract:
 * `GET /api/catalog/feed?after=&limit=` and `GET /api/catalog/entities/by-query?limit=&cursor=`,
 * bearer-token auth with Backstage's error envelope. Positions increase by one per change;
 * `compact(upTo)` drops the log up to a position, after which older `after` values get
 * `relist: true`.
 */
export class FakeCatalogService {
  readonly requests: RecordedRequest[] = [];
  private readonly log: LogItem[] = [];
  private readonly current = new Map<string, Entity>();
  private head = 0;
  /** `after` below this is older than the kept window. */
  private windowStart = 0;
  private failures: number[] = [];
  private server?: http.Server;
  baseUrl = '';

  constructor(readonly token: string) {}

  upsert(...entities: Entity[]): void {
    for (const entity of entities) {
      const ref = refOf(entity);
      this.head += 1;
      this.current.set(ref, entity);
      this.log.push({ position: this.head, ref, entity });
    }
  }

  remove(...refs: string[]): void {
    for (const ref of refs) {
      this.head += 1;
      this.current.delete(ref);
      this.log.push({ position: this.head, ref, entity: null });
    }
  }

  /** Forget the log up to `position` (tombstones included): older positions must relist. */
  compact(position: number = this.head): void {
    this.windowStart = position;
    while (this.log.length > 0 && this.log[0].position <= position) {
      this.log.shift();
    }
  }

  /** The next `count` requests answer with this status. */
  failNext(status: number, count = 1): void {
    for (let i = 0; i < count; i += 1) {
      this.failures.push(status);
    }
  }

  headPosition(): number {
    return this.head;
  }

  refs(): string[] {
    return [...this.current.keys()].sort();
  }

  feedRequests(): RecordedRequest[] {
    return this.requests.filter(r => r.path === '/api/catalog/feed');
  }

  queryRequests(): RecordedRequest[] {
    return this.requests.filter(r => r.path === '/api/catalog/entities/by-query');
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>(resolve => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${port}`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    await new Promise<void>(resolve => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private send(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private error(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    status: number,
    name: string,
    message: string,
  ): void {
    this.send(res, status, {
      error: { name, message },
      request: { method: req.method, url: (req.url ?? '').split('?')[0] },
      response: { statusCode: status },
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    this.requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      authorization: req.headers.authorization,
    });
    const failure = this.failures.shift();
    if (failure !== undefined) {
      this.error(req, res, failure, 'ServiceUnavailableError', 'injected failure');
      return;
    }
    if (!req.headers.authorization) {
      this.error(req, res, 401, 'AuthenticationError', 'missing bearer token');
      return;
    }
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      this.error(req, res, 401, 'AuthenticationError', 'unknown token');
      return;
    }
    if (url.pathname === '/api/catalog/feed') {
      const after = Number(url.searchParams.get('after') ?? '0');
      const limit = Number(url.searchParams.get('limit') ?? '500');
      if (after < this.windowStart) {
        this.send(res, 200, { items: [], nextPosition: this.head, relist: true });
        return;
      }
      const items = this.log.filter(item => item.position > after).slice(0, limit);
      const nextPosition = items.length > 0 ? items[items.length - 1].position : after;
      this.send(res, 200, { items, nextPosition, relist: false });
      return;
    }
    if (url.pathname === '/api/catalog/entities/by-query') {
      const limit = Number(url.searchParams.get('limit') ?? '20');
      const cursor = url.searchParams.get('cursor');
      const after = cursor ? Buffer.from(cursor, 'base64url').toString() : '';
      const refs = this.refs().filter(ref => ref > after);
      const page = refs.slice(0, limit);
      const more = refs.length > limit;
      this.send(res, 200, {
        items: page.map(ref => this.current.get(ref)),
        totalItems: this.current.size,
        pageInfo: more
          ? { nextCursor: Buffer.from(page[page.length - 1]).toString('base64url') }
          : {},
      });
      return;
    }
    this.error(req, res, 404, 'NotFoundError', `no route ${url.pathname}`);
  }
}
