import {
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
  RootConfigService,
  SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';

type Config = RootConfigService;

/** The module's options, read from the `catalogIngest` section of the app-config. */
export interface CatalogIngestOptions {
  /** Base URL of the catalog-ingest HTTP service, without a trailing slash. */
  baseUrl: string;
  /** Bearer token with the service's `read` scope. Never logged. */
  token: string;
  schedule: SchedulerServiceTaskScheduleDefinition;
  /** Feed items per request (the feed's `limit`), entities per read-API page, refs per removal. */
  batchSize: number;
  /** Upper bound of feed batches applied by one run; the next run continues. */
  maxBatchesPerRun: number;
  requestTimeoutMs: number;
}

export const DEFAULT_SCHEDULE: SchedulerServiceTaskScheduleDefinition = {
  frequency: { seconds: 30 },
  timeout: { minutes: 10 },
};
export const DEFAULT_BATCH_SIZE = 500;
export const MAX_BATCH_SIZE = 1000;
export const DEFAULT_MAX_BATCHES_PER_RUN = 100;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

function boundedInteger(
  config: Config,
  key: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const value = config.getOptionalNumber(key);
  if (value === undefined) {
    return fallback;
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(
      `catalogIngest.${key} must be an integer from ${min} to ${max}, got ${value}`,
    );
  }
  return value;
}

/** Reads `catalogIngest`; throws a one-line error naming the key on a bad value. */
export function readCatalogIngestOptions(root: Config): CatalogIngestOptions {
  const config = root.getOptionalConfig('catalogIngest');
  if (!config) {
    throw new Error(
      'catalog-ingest module: missing `catalogIngest` config (baseUrl, token)',
    );
  }
  const baseUrl = config.getString('baseUrl').replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new Error(`catalogIngest.baseUrl is not a URL: ${baseUrl}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`catalogIngest.baseUrl must be http(s), got ${parsed.protocol}`);
  }
  const token = config.getString('token');
  if (token.trim() === '') {
    throw new Error('catalogIngest.token is empty');
  }
  const schedule = config.has('schedule')
    ? readSchedulerServiceTaskScheduleDefinitionFromConfig(config.getConfig('schedule'))
    : DEFAULT_SCHEDULE;
  return {
    baseUrl,
    token,
    schedule,
    batchSize: boundedInteger(config, 'batchSize', DEFAULT_BATCH_SIZE, 1, MAX_BATCH_SIZE),
    maxBatchesPerRun: boundedInteger(
      config,
      'maxBatchesPerRun',
      DEFAULT_MAX_BATCHES_PER_RUN,
      1,
      1_000_000,
    ),
    requestTimeoutMs: boundedInteger(
      config,
      'requestTimeoutMs',
      DEFAULT_REQUEST_TIMEOUT_MS,
      100,
      600_000,
    ),
  };
}
