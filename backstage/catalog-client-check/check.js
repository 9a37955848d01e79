#!/usr/bin/env node
/*
 * Runs the real @backstage/catalog-client against a catalog API and prints the answers as one
 * JSON document on stdout, so a Python test can compare them with SQL counts.
 *
 *   node check.js --base-url http://127.0.0.1:7007 [--token T] [--plan FILE|-] [--refs-only]
 *
 * --base-url (or CATALOG_BASE_URL): the server root; the client is given
 *   `<base-url>/api/catalog` through a discovery object, as Backstage does.
 * --token (or CATALOG_TOKEN): sent as `Authorization: Bearer <token>`.
 * --plan: a JSON array of steps, from a file or `-` for stdin; without it a default plan runs
 *   (see DEFAULT_PLAN). Each step is {"name"?, "op", "args"?}:
 *     getEntities        args: the GetEntitiesRequest            -> {items}
 *     queryEntities      args: the QueryEntitiesRequest; follows nextCursor until the end
 *                        (maxPages, default 10000)                -> {items, totalItems, pages}
 *     getEntityByRef     args: {entityRef}                        -> the entity or null
 *     getEntitiesByRefs  args: the GetEntitiesByRefsRequest       -> {items}
 *     getEntityFacets    args: the GetEntityFacetsRequest         -> {facets}
 * --refs-only: entities in the output are replaced by their refs (`kind:namespace/name`).
 *
 * Output: {"baseUrl", "results": [{"name", "op", "result"} | {"name", "op", "error"}]}.
 * Exit 0 when every step answered, 1 when one failed (its error is in the output), 2 on
 * bad arguments.
 */
'use strict';

const fs = require('node:fs');
const { CatalogClient } = require('@backstage/catalog-client');

const DEFAULT_PLAN = [
  { name: 'all', op: 'getEntities', args: {} },
  { name: 'components', op: 'getEntities', args: { filter: { kind: 'Component' } } },
  { name: 'query-pages', op: 'queryEntities', args: { limit: 7 } },
  {
    name: 'facets',
    op: 'getEntityFacets',
    args: { facets: ['kind', 'metadata.namespace', 'spec.type'] },
  },
];

function usage(message) {
  process.stderr.write(`catalog-client-check: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = {
    baseUrl: process.env.CATALOG_BASE_URL,
    token: process.env.CATALOG_TOKEN,
    plan: undefined,
    refsOnly: false,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      i += 1;
      return argv[i];
    };
    if (arg === '--base-url') options.baseUrl = value();
    else if (arg === '--token') options.token = value();
    else if (arg === '--plan') options.plan = value();
    else if (arg === '--refs-only') options.refsOnly = true;
    else usage(`unknown argument ${arg}`);
  }
  if (!options.baseUrl) usage('give --base-url (or CATALOG_BASE_URL)');
  options.baseUrl = options.baseUrl.replace(/\/+$/, '');
  return options;
}

function readPlan(source) {
  if (source === undefined) return DEFAULT_PLAN;
  const text = source === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(source, 'utf8');
  const plan = JSON.parse(text);
  if (!Array.isArray(plan)) usage('the plan must be a JSON array of steps');
  return plan;
}

function refOf(entity) {
  if (!entity || typeof entity !== 'object' || !entity.metadata) return entity;
  const namespace = entity.metadata.namespace || 'default';
  return `${entity.kind}:${namespace}/${entity.metadata.name}`.toLowerCase();
}

async function runStep(client, step, requestOptions, project) {
  const args = step.args || {};
  switch (step.op) {
    case 'getEntities': {
      const answer = await client.getEntities(args, requestOptions);
      return { items: answer.items.map(project) };
    }
    case 'queryEntities': {
      const { maxPages = 10000, ...request } = args;
      const pages = [];
      const items = [];
      let answer = await client.queryEntities(request, requestOptions);
      let totalItems = answer.totalItems;
      for (;;) {
        pages.push({
          count: answer.items.length,
          totalItems: answer.totalItems,
          hasNextCursor: Boolean(answer.pageInfo.nextCursor),
          hasPrevCursor: Boolean(answer.pageInfo.prevCursor),
        });
        items.push(...answer.items.map(project));
        const cursor = answer.pageInfo.nextCursor;
        if (!cursor) break;
        if (pages.length >= maxPages) {
          throw new Error(`more than maxPages=${maxPages} pages`);
        }
        // Only the cursor (and fields) go with the next request, as Backstage's client expects.
        const next = { cursor, limit: request.limit };
        if (request.fields) next.fields = request.fields;
        answer = await client.queryEntities(next, requestOptions);
      }
      return { items, totalItems, pages };
    }
    case 'getEntityByRef': {
      const entity = await client.getEntityByRef(args.entityRef, requestOptions);
      return entity === undefined ? null : project(entity);
    }
    case 'getEntitiesByRefs': {
      const answer = await client.getEntitiesByRefs(args, requestOptions);
      return { items: answer.items.map(item => (item === undefined ? null : project(item))) };
    }
    case 'getEntityFacets':
      return client.getEntityFacets(args, requestOptions);
    default:
      throw new Error(`unknown op ${step.op}`);
  }
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const plan = readPlan(options.plan);
  const catalogUrl = `${options.baseUrl}/api/catalog`;
  const client = new CatalogClient({
    discoveryApi: { getBaseUrl: async () => catalogUrl },
    fetchApi: { fetch: (input, init) => fetch(input, init) },
  });
  const requestOptions = options.token ? { token: options.token } : undefined;
  const project = options.refsOnly ? refOf : entity => entity;
  const results = [];
  let failed = false;
  for (const [index, step] of plan.entries()) {
    const name = step.name || `${index}:${step.op}`;
    try {
      results.push({ name, op: step.op, result: await runStep(client, step, requestOptions, project) });
    } catch (error) {
      failed = true;
      let message = error && error.message ? String(error.message) : String(error);
      if (options.token) message = message.split(options.token).join('***');
      results.push({ name, op: step.op, error: { name: error && error.name, message } });
    }
  }
  process.stdout.write(`${JSON.stringify({ baseUrl: options.baseUrl, results })}\n`);
  process.exitCode = failed ? 1 : 0;
}

main().catch(error => {
  process.stderr.write(`catalog-client-check: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
