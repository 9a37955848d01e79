import { SchedulerServiceTaskScheduleDefinitionConfig } from '@backstage/backend-plugin-api';

export interface Config {
  /** The catalog-ingest change feed, delivered into this catalog. */
  catalogIngest?: {
    /** Base URL of the catalog-ingest HTTP service, e.g. http://catalog-ingest:7007 */
    baseUrl: string;
    /**
     * A bearer token of the service with the `read` scope.
     * @visibility secret
     */
    token: string;
    /** How often to pull the feed (default every 30 s, timeout 10 min). */
    schedule?: SchedulerServiceTaskScheduleDefinitionConfig;
    /** Feed items / read-API entities per request and per applyMutation (1-1000, default 500). */
    batchSize?: number;
    /** Most feed batches one run applies before yielding to the next run (default 100). */
    maxBatchesPerRun?: number;
    /** Timeout of one HTTP request to the service in milliseconds (default 30000). */
    requestTimeoutMs?: number;
  };
}
