#!/usr/bin/env node
// The admin CLI runs from the build output, which `npm install`/`npm ci` produce (`prepare`), as `npm run build` does;
// it never builds by itself (`npm run lapi -- …` answers at once). Commands run from
// dist/cli/lapi.js, the CLI in one file (scripts/bundle-cli.mjs: one file to read instead of hundreds); help and
// version (and completion scripts) from the compiled files, which for those read a dozen small ones rather than the whole bundle.
const path = require('node:path');
const fs = require('node:fs');
const dist = path.join(__dirname, '..', 'dist');
const bundle = path.join(dist, 'cli', 'lapi.js');
const compiled = path.join(dist, 'apps', 'cli', 'src', 'main.js');
const args = process.argv.slice(2);
// A shell runs `lapi completion bash` at each start: it needs the commands' names, not the code behind them.
const helpOnly =
  args.length === 0 ||
  args[0] === 'completion' ||
  args.some((a) => ['-h', '--help', '-V', '--version', 'help'].includes(a));
const entry = [helpOnly ? compiled : bundle, compiled].find((f) => fs.existsSync(f));
if (!entry) {
  process.stderr.write(`lapi: not built yet (no ${dist}): run npm run build\n`);
  process.exit(1);
}
require(entry);
