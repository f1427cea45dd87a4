#!/usr/bin/env node
// The admin CLI runs from the build output; `npm start` or `npm run build` produces it.
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'apps', 'cli', 'src', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('lapi: not built yet; run `npm run build` first\n');
  process.exit(1);
}
require(entry);
