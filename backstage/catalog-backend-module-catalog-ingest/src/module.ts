import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import { CatalogIngestClient } from './client';
import { readCatalogIngestOptions } from './config';
import { CatalogIngestEntityProvider, PROVIDER_NAME } from './provider';
import { CatalogIngestStore } from './store';

/**
 * The catalog-ingest module of the catalog plugin: an entity provider that pulls the change
 * feed of the catalog-ingest HTTP service on its schedule (`catalogIngest` in the app-config).
 *
 * `backend.add(import('@catalog-ingest/backstage-plugin-catalog-backend-module-catalog-ingest'))`
 */
export const catalogModuleCatalogIngest = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'catalog-ingest',
  register(env) {
    env.registerInit({
      deps: {
        catalog: catalogProcessingExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        scheduler: coreServices.scheduler,
        database: coreServices.database,
      },
      async init({ catalog, config, logger, scheduler, database }) {
        const options = readCatalogIngestOptions(config);
        const store = new CatalogIngestStore(await database.getClient(), PROVIDER_NAME);
        if (!database.migrations?.skip) {
          await store.migrate();
        }
        const client = new CatalogIngestClient({
          baseUrl: options.baseUrl,
          token: options.token,
          requestTimeoutMs: options.requestTimeoutMs,
        });
        catalog.addEntityProvider(
          new CatalogIngestEntityProvider({
            client,
            store,
            logger,
            scheduler,
            schedule: options.schedule,
            batchSize: options.batchSize,
            maxBatchesPerRun: options.maxBatchesPerRun,
          }),
        );
        logger.info(
          `catalog-ingest provider registered: feed ${options.baseUrl}/api/catalog/feed, ` +
            `batchSize ${options.batchSize}`,
        );
      },
    });
  },
});
