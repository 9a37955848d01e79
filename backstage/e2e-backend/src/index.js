#!/usr/bin/env node
/*
 * A minimal real Backstage backend for end-to-end tests: the catalog plugin and the
 * catalog-ingest module, nothing else.
 *
 *   node src/index.js --config app-config.yaml [--config more.yaml] [--port 7100]
 *
 * The port may also come from PORT; it overrides backend.listen.port and backend.baseUrl
 * (http://127.0.0.1:<port>). Everything else comes from the config files (see
 * app-config.example.yaml). Prints `backstage e2e backend listening on <baseUrl>` to stdout
 * once the catalog answers; SIGTERM / SIGINT stop it cleanly.
 */
'use strict';

function takePort(argv) {
  const rest = [];
  let port = process.env.PORT;
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--port') {
      port = argv[i + 1];
      i += 1;
    } else if (argv[i].startsWith('--port=')) {
      port = argv[i].slice('--port='.length);
    } else {
      rest.push(argv[i]);
    }
  }
  return { port, rest };
}

const { port, rest } = takePort(process.argv.slice(2));
if (port !== undefined) {
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    console.error(`e2e-backend: --port must be 1-65535, got ${port}`);
    process.exit(2);
  }
  // The config loader reads APP_CONFIG_* (values parsed as JSON) above the files.
  process.env.APP_CONFIG_backend_listen_port = port;
  process.env.APP_CONFIG_backend_listen_host = '127.0.0.1';
  process.env.APP_CONFIG_backend_baseUrl = `http://127.0.0.1:${port}`;
}
if (!rest.some(arg => arg === '--config' || arg.startsWith('--config='))) {
  console.error('e2e-backend: give the app-config with --config FILE');
  process.exit(2);
}
// backend-defaults' root config reads --config from process.argv.
process.argv = [process.argv[0], process.argv[1], ...rest];

const { createBackend } = require('@backstage/backend-defaults');

async function main() {
  const backend = createBackend();
  backend.add(require('@backstage/plugin-catalog-backend'));
  backend.add(
    require('@catalog-ingest/backstage-plugin-catalog-backend-module-catalog-ingest'),
  );
  await backend.start();
  const baseUrl = process.env.APP_CONFIG_backend_baseUrl || '(see backend.baseUrl)';
  process.stdout.write(`backstage e2e backend listening on ${baseUrl}\n`);

  let stopping = false;
  const stop = async signal => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`backstage e2e backend stopping (${signal})\n`);
    const force = setTimeout(() => process.exit(0), 10000);
    force.unref();
    try {
      await backend.stop();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch(error => {
  console.error(`e2e-backend failed to start: ${error && error.stack ? error.stack : error}`);
  process.exit(1);
});
