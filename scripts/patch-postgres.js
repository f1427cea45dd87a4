#!/usr/bin/env node
// Patches postgres.js (the PostgreSQL driver) in node_modules, run by `npm ci` / `npm install` ("postinstall")
// and by the Dockerfile after its `npm ci --ignore-scripts`.
//
// postgres.js 3.4.9 (and 3.4.10; 4.x is an ESM-only rewrite) crashes
// the process when PostgreSQL closes a connection under write load (pg_terminate_backend, a failover, a
// PgBouncer reset, idle_session_timeout): a query sent on the dead connection (kysely's ROLLBACK) queues a
// write that runs from setImmediate on a null socket, a TypeError no caller can catch (porsager/postgres#1066,
// #1154, #1208; fix proposed in #1168, unreleased). The edits:
//   1. execute(): a query on a closed connection is rejected (CONNECTION_CLOSED) instead of written to nothing;
//   2. nextWrite(): no write without a socket (any other late write);
//   3. closed()/terminate(): drop the pending write timer and bytes, the failed query and the server's error
//      (57P01), which would otherwise stall the connection's next socket or fail its first query.
// sql.reserve() also loses or wedges reserved connections that the server ends: the app does not use it (Kysely
// runs on libs/event-store/src/postgres-js-dialect.ts, over the pool and sql.begin()).
// Idempotent (a marker comment); fails loudly when the driver's code no longer has the expected shape, so that
// an upgrade makes someone review this file (drop it once a release has the fix).
'use strict';

const { readFileSync, writeFileSync, existsSync } = require('node:fs');
const { join, dirname } = require('node:path');

const EXPECTED_VERSION = '3.4.9';
const MARKER = '/* lapi-patch */';

/** [file (relative to the package), text to find, replacement, occurrences expected] */
const EDITS = [
  [
    'connection.js',
    "    if (terminated)\n      return queryError(q, Errors.connection('CONNECTION_DESTROYED', options))\n",
    "    if (terminated)\n      return queryError(q, Errors.connection('CONNECTION_DESTROYED', options))\n\n" +
      // true: the callers must not move the closed connection to another queue (sql.begin()'s handler would move
      // it to \`full\`, out of the closed ones that the pool reconnects).
      `    if (!socket) ${MARKER}\n      return queryError(q, Errors.connection('CONNECTION_CLOSED', options)), true\n`,
    1,
  ],
  [
    'connection.js',
    '  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)\n',
    `  function nextWrite(fn) {\n    if (!socket) ${MARKER}\n      return chunk = nextWriteTimer = null, false\n\n` +
      '    const x = socket.write(chunk, fn)\n',
    1,
  ],
  [
    'connection.js',
    '    clearImmediate(nextWriteTimer)\n',
    `    clearImmediate(nextWriteTimer)\n    nextWriteTimer = chunk = null ${MARKER}\n`,
    2,
  ],
  [
    'connection.js',
    "    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))\n",
    "    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))\n" +
      `    query = errorResponse = null ${MARKER}\n`,
    1,
  ],
];

const VARIANTS = ['src', 'cjs/src', 'cf/src'];

function count(text, find) {
  return text.split(find).length - 1;
}

/** Patches the package at `root`; returns the files changed. Throws when anything is not as expected. */
function patchPostgres(root) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  if (pkg.version !== EXPECTED_VERSION) {
    throw new Error(
      `postgres ${pkg.version} is installed, scripts/patch-postgres.js was written for ${EXPECTED_VERSION}: ` +
        'check whether the release fixes porsager/postgres#1066/#1208, then update or remove the patch',
    );
  }
  const changed = [];
  for (const variant of VARIANTS) {
    if (!existsSync(join(root, variant))) {
      continue;
    }
    for (const file of ['connection.js']) {
      const path = join(root, variant, file);
      const original = readFileSync(path, 'utf8');
      const patched = original.includes(MARKER);
      let text = original;
      for (const [target, find, replacement, expected] of EDITS) {
        if (target !== file) {
          continue;
        }
        const found = count(text, patched ? replacement : find);
        if (found !== expected) {
          throw new Error(
            `${path}: expected ${expected} occurrence(s) of ${JSON.stringify(patched ? replacement : find)}, ` +
              `found ${found}: the driver changed shape, review scripts/patch-postgres.js`,
          );
        }
        if (!patched) {
          text = text.split(find).join(replacement);
        }
      }
      if (text !== original) {
        writeFileSync(path, text);
        changed.push(path);
      }
    }
  }
  return changed;
}

module.exports = { patchPostgres, MARKER };

if (require.main === module) {
  try {
    // The package's entry point is cjs/src/index.js (its exports hide package.json).
    const root = join(dirname(require.resolve('postgres', { paths: [join(__dirname, '..')] })), '..', '..');
    const changed = patchPostgres(root);
    process.stdout.write(
      `patch-postgres: ${changed.length ? `patched ${changed.length} file(s)` : 'already patched'}\n`,
    );
  } catch (e) {
    process.stderr.write(`patch-postgres: ${e.message}\n`);
    process.exit(1);
  }
}
