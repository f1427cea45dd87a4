// Part of `npm run build`: the admin CLI as one file, dist/cli/lapi.js (issue #18). Loading Kysely alone reads
// 263 files; an operator's script starts `lapi` once per command, so the CLI's own code and the pure-JS packages
// every command needs are read from one file. Everything else (Nest, ioredis, BullMQ, PGlite, bcryptjs) stays in
// node_modules and is loaded, from there, only by the commands that need it.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// postgres stays out: scripts/patch-postgres.js patches it in node_modules at install time.
const INLINED = new Set(['commander', 'kysely', 'zod']);
const packageOf = (path) => (path.startsWith('@') ? path.split('/').slice(0, 2).join('/') : path.split('/')[0]);

await build({
  entryPoints: [join(root, 'dist/apps/cli/src/main.js')],
  outfile: join(root, 'dist/cli/lapi.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // Class names are kept: Nest and the error messages use them.
  keepNames: true,
  logLevel: 'warning',
  plugins: [
    {
      name: 'external-packages',
      setup(b) {
        // Bare specifiers (packages, node: built-ins) stay requires unless inlined; our files are all relative here.
        b.onResolve({ filter: /^[^./]/ }, (args) =>
          INLINED.has(packageOf(args.path)) ? undefined : { path: args.path, external: true },
        );
      },
    },
  ],
});
