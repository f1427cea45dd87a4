#!/usr/bin/env node
// The admin CLI runs from the build output; `npm start` or `npm run build` produces it: dist/cli/lapi.js, the CLI in
// one file (scripts/bundle-cli.mjs), else the plain compiled files.
const path = require('node:path');
const fs = require('node:fs');
const dist = path.join(__dirname, '..', 'dist');
const entry = [path.join(dist, 'cli', 'lapi.js'), path.join(dist, 'apps', 'cli', 'src', 'main.js')].find((f) =>
  fs.existsSync(f),
);
if (!entry) {
  process.stderr.write('lapi: not built yet; run `npm run build` first\n');
  process.exit(1);
}
require(entry);
