/**
 * Backstage catalog backend module: the catalog-ingest change feed as an entity provider.
 *
 * @packageDocumentation
 */
export { catalogModuleCatalogIngest as default } from './module';
export { catalogModuleCatalogIngest } from './module';
export {
  CatalogIngestEntityProvider,
  LOCATION_KEY,
  PROVIDER_NAME,
  entityRefOf,
  toDeferredEntity,
} from './provider';
export type { CatalogIngestProviderOptions, RunSummary } from './provider';
export { CatalogIngestClient, CatalogIngestRequestError } from './client';
export type { EntityPage, FeedItem, FeedPage } from './client';
export { CatalogIngestStore, REFS_TABLE, STATE_TABLE } from './store';
export type { ProviderState } from './store';
export { readCatalogIngestOptions } from './config';
export type { CatalogIngestOptions } from './config';
