#!/usr/bin/env bash
# Validates the container deployment (Dockerfile, .dockerignore, docker-compose.yml, deploy/haproxy/haproxy.cfg)
# without a Docker engine. Run from anywhere: bash test/deploy/validate.sh [--static]
#
# 1. docker-compose.yml
#    - `docker-compose config` (Debian's Compose v1, 1.29) with a dummy CS_LAPI_SECRET, and `docker compose
#      config` (v2 plugin) too when it is installed; both must refuse the file without CS_LAPI_SECRET;
#    - the Compose Specification JSON schema that Compose v2 validates with (test/deploy/compose-spec.json,
#      schema/compose-spec.json of github.com/compose-spec/compose-go, Apache-2.0), since the v2 plugin is
#      not packaged by Debian;
#    - the topology, on the configuration as compose resolves it: 3 API replicas sharing one secret, 2
#      workers, the one-shot migration they wait for, PostgreSQL and Redis (appendonly, noeviction) with
#      health checks, restart policies, stop grace periods, only HAProxy publishing 8080.
# 2. deploy/haproxy/haproxy.cfg: `haproxy -c` (no warning other than the replica names not resolving outside
#    compose), servers = the compose API services, health checks on /health, X-Forwarded-For.
# 3. Dockerfile: dockerfile-utils lint (npm; hadolint is not packaged by Debian), stages and runtime stage
#    (production dependencies with --ignore-scripts, non-root user, NODE_ENV, HEALTHCHECK, CMD), .dockerignore.
# 4. Unless --static: the image's runtime layout, built as the Dockerfile does but in a scratch directory
#    (dist/ compiled from a copy of the sources, production dependencies only, nothing from the checkout's
#    node_modules), run on this machine against a scratch PostgreSQL database, all on 127.0.0.1: the
#    migration, 3 API replicas behind HAProxy started from a copy of haproxy.cfg with loopback addresses,
#    the image's HEALTHCHECK command, a bouncer and a machine created with the CLI and used through HAProxy
#    (a token from one replica accepted by the others), X-Forwarded-For as HAProxy sends it, a replica
#    stopped under traffic, a worker, the embedded mode of a single container, JSON logs, graceful exits on
#    SIGTERM; as an unprivileged user (uid 65534) when run as root, like the image's USER.
#
# Needs: docker-compose and haproxy (apt-get install docker-compose haproxy; .ci/run installs them), node
# with the project's node_modules (npm ci), the npm registry (dockerfile-utils, production dependencies), and
# for step 4 PostgreSQL (TEST_DATABASE_URL, DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres).
# shellcheck disable=SC2015,SC2016 # `test && test || die` on purpose; JavaScript in single quotes
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"

STATIC=0
for arg in "$@"; do
  case "$arg" in
    --static) STATIC=1 ;;
    *)
      echo "usage: $0 [--static]" >&2
      exit 2
      ;;
  esac
done

section() { printf '\n\033[1m---- deploy: %s ----\033[0m\n' "$*"; }
info() { printf '  %s\n' "$*"; }
ok() { printf '  ok: %s\n' "$*"; }
die() {
  printf '\nDEPLOY VALIDATION FAILED: %s\n' "$*" >&2
  exit 1
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/lapi-deploy.XXXXXX")"
PIDS=()
declare -A PID # name → PID of what start() started
STOPPED=" " # PIDs already stopped and reaped
is_stopped() { [[ "$STOPPED" == *" $1 "* ]]; }
SCRATCH_DB=""
BASE_DB_URL=""
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    is_stopped "$pid" || kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    is_stopped "$pid" || wait "$pid" 2>/dev/null || true
  done
  if [ -n "$SCRATCH_DB" ]; then
    (cd "$ROOT" && node -e '
      const sql = require("postgres")(process.argv[1], { onnotice() {}, max: 1 });
      sql.unsafe(`drop database if exists "${process.argv[2]}" with (force)`).finally(() => sql.end());
    ' "$BASE_DB_URL" "$SCRATCH_DB") >/dev/null 2>&1 || true
  fi
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

DUMMY_SECRET="$(node -e 'process.stdout.write(require("node:crypto").randomBytes(64).toString("hex"))')"

# ------------------------------------------------------------------------------------------
section "tools"

command -v node >/dev/null || die "node not found"
[ -d node_modules/yaml ] && [ -d node_modules/ajv ] || die "node_modules incomplete: run npm ci first"
command -v docker-compose >/dev/null || die "docker-compose not found: apt-get install docker-compose (Compose v1, Debian)"
command -v haproxy >/dev/null || die "haproxy not found: apt-get install haproxy"
info "$(docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /')"
COMPOSE_V2=0
if docker compose version >/dev/null 2>&1; then
  COMPOSE_V2=1
  info "$(docker compose version 2>/dev/null | head -n 1)"
else
  info "docker compose (v2 plugin): not installed (not packaged by Debian); its JSON schema is checked instead"
fi
info "$(haproxy -v | head -n 1)"

# ------------------------------------------------------------------------------------------
section "docker-compose.yml"

# Interpolation only: no other variable of the file may come from this shell.
compose_env() {
  env -u POSTGRES_PASSWORD -u LAPI_IMAGE -u LAPI_LOG_LEVEL -u LAPI_TRUSTED_IPS -u LAPI_PUBLISH \
    -u LAPI_DISABLE_REMOTE_REGISTRATION -u COMPOSE_FILE -u COMPOSE_PROJECT_NAME "$@"
}

compose_env CS_LAPI_SECRET="$DUMMY_SECRET" docker-compose -f docker-compose.yml config >"$WORK/compose.v1.yml" 2>"$WORK/compose.v1.err" ||
  die "docker-compose config failed: $(cat "$WORK/compose.v1.err")"
ok "docker-compose (v1) config accepts the file"
if compose_env -u CS_LAPI_SECRET docker-compose -f docker-compose.yml config >/dev/null 2>"$WORK/nosecret.err"; then
  die "docker-compose config accepted the file without CS_LAPI_SECRET"
fi
grep -q 'set CS_LAPI_SECRET' "$WORK/nosecret.err" || die "without CS_LAPI_SECRET, unexpected error: $(cat "$WORK/nosecret.err")"
ok "docker-compose (v1) refuses to start without CS_LAPI_SECRET"
RESOLVED="$WORK/compose.v1.yml"

if [ "$COMPOSE_V2" = 1 ]; then
  compose_env CS_LAPI_SECRET="$DUMMY_SECRET" docker compose -f docker-compose.yml config >"$WORK/compose.v2.yml" 2>"$WORK/compose.v2.err" ||
    die "docker compose config failed: $(cat "$WORK/compose.v2.err")"
  ok "docker compose (v2) config accepts the file"
  if compose_env -u CS_LAPI_SECRET docker compose -f docker-compose.yml config >/dev/null 2>&1; then
    die "docker compose config accepted the file without CS_LAPI_SECRET"
  fi
  ok "docker compose (v2) refuses to start without CS_LAPI_SECRET"
fi

node - "$RESOLVED" "$DUMMY_SECRET" <<'EOF'
const fs = require('node:fs');
const YAML = require('yaml');
const Ajv2020 = require('ajv/dist/2020').default;
const [resolvedFile, secret] = process.argv.slice(2);
const problems = [];
const check = (cond, what) => {
  if (cond) console.log(`  ok: ${what}`);
  else problems.push(what);
};
const quietly = (cond, what) => {
  if (!cond) problems.push(what);
};

// The raw file against the Compose Specification schema (what Compose v2 validates after YAML merge keys).
const raw = YAML.parse(fs.readFileSync('docker-compose.yml', 'utf8'), { merge: true });
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(
  JSON.parse(fs.readFileSync('test/deploy/compose-spec.json', 'utf8')),
);
const valid = validate(raw);
check(valid, 'matches the Compose Specification schema (Compose v2)');
if (!valid) for (const e of validate.errors) console.error(`    ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
const rawText = fs.readFileSync('docker-compose.yml', 'utf8');
check(
  rawText.includes('${CS_LAPI_SECRET:?set CS_LAPI_SECRET (64+ chars)}'),
  'CS_LAPI_SECRET is required by interpolation (${CS_LAPI_SECRET:?…})',
);
check(!/[0-9a-f]{64,}/i.test(rawText), 'no literal secret in the file');

// The configuration as compose resolved it (anchors merged, variables substituted).
const cfg = YAML.parse(fs.readFileSync(resolvedFile, 'utf8'));
const services = cfg.services ?? {};
const names = Object.keys(services);
const cmd = (s) => (Array.isArray(s.command) ? s.command : String(s.command ?? '').split(/\s+/)).join(' ');
const env = (s) =>
  Array.isArray(s.environment)
    ? Object.fromEntries(s.environment.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
    : (s.environment ?? {});
const hc = (s) => (Array.isArray(s.healthcheck?.test) ? s.healthcheck.test : [s.healthcheck?.test].filter(Boolean));
const hasHealthcheck = (s) => hc(s).length > 0 && hc(s)[0] !== 'NONE' && !s.healthcheck?.disable;
const deps = (s) => (Array.isArray(s.depends_on) ? Object.fromEntries(s.depends_on.map((d) => [d, {}])) : (s.depends_on ?? {}));

const apis = names.filter((n) => cmd(services[n]).includes('dist/apps/api/src/main.js'));
const workers = names.filter((n) => cmd(services[n]).includes('dist/apps/worker/src/main.js'));
check(apis.length === 3, `3 API replicas (${apis.join(', ')})`);
check(workers.length === 2, `2 workers (${workers.join(', ')})`);
const migrate = services.migrate;
check(migrate && /bin\/lapi\.js migrate$/.test(cmd(migrate)), 'migrate runs `node bin/lapi.js migrate`');
check(migrate?.restart === 'no' || migrate?.restart === undefined, 'migrate is one-shot (restart: "no")');
check(migrate?.build && migrate.build.dockerfile === 'Dockerfile', 'migrate builds the Dockerfile');
const lapiServices = ['migrate', ...apis, ...workers];
check(new Set(lapiServices.map((n) => services[n].image)).size === 1, 'API, workers and migrate run one image');

for (const n of [...apis, ...workers]) {
  const s = services[n];
  const d = deps(s);
  check(d.migrate?.condition === 'service_completed_successfully', `${n} waits for migrate to succeed`);
  check(
    d.postgres?.condition === 'service_healthy' && d.redis?.condition === 'service_healthy',
    `${n} waits for healthy postgres and redis`,
  );
  check(['unless-stopped', 'always'].includes(s.restart), `${n} restarts (${s.restart})`);
  check(Boolean(s.stop_grace_period), `${n} has a stop_grace_period (${s.stop_grace_period})`);
  check(!s.ports, `${n} publishes no port`);
}
for (const n of lapiServices) {
  const e = env(services[n]);
  check(/^postgres:\/\/[^@]+@postgres:5432\//.test(e.DATABASE_URL ?? ''), `${n}: DATABASE_URL points at postgres`);
  check(e.REDIS_URL === 'redis://redis:6379', `${n}: REDIS_URL points at redis`);
  check(e.LAPI_LOG_FORMAT === 'json', `${n}: JSON logs`);
  check(e.LAPI_LISTEN_URI === '0.0.0.0:8080', `${n}: LAPI_LISTEN_URI=0.0.0.0:8080`);
}
for (const n of [...apis, ...workers]) {
  check(env(services[n]).LAPI_METRICS_LISTEN_URI === '0.0.0.0:6060', `${n}: metrics on their own port (0.0.0.0:6060)`);
}
check(
  apis.every((n) => env(services[n]).CS_LAPI_SECRET === secret),
  'every API replica gets the same CS_LAPI_SECRET from the environment',
);
check(
  workers.every((n) => !hasHealthcheck(services[n])),
  "workers disable the image's HTTP health check (they serve no HTTP)",
);
check(
  apis.every((n) => !services[n].healthcheck || hasHealthcheck(services[n])),
  "API replicas keep the image's HEALTHCHECK",
);

const pg = services.postgres;
check(/^postgres:16([.-]|$)/.test(pg?.image ?? ''), `postgres 16 (${pg?.image})`);
check(pg && hasHealthcheck(pg) && hc(pg).join(' ').includes('pg_isready'), 'postgres has a pg_isready health check');
const pgVolume = (pg?.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
check(
  pgVolume.some((v) => /^[a-z0-9_-]+:\/var\/lib\/postgresql\/data/.test(v) && cfg.volumes?.[v.split(':')[0]] !== undefined),
  'postgres data on a named volume',
);
const redis = services.redis;
const redisCmd = Array.isArray(redis?.command) ? redis.command.map(String) : String(redis?.command ?? '').split(/\s+/);
const arg = (flag) => redisCmd[redisCmd.indexOf(flag) + 1];
check(/^redis:7([.-]|$)/.test(redis?.image ?? ''), `redis 7 (${redis?.image})`);
check(arg('--appendonly') === 'yes', 'redis --appendonly yes');
check(arg('--maxmemory-policy') === 'noeviction', 'redis --maxmemory-policy noeviction');
check(redis && hasHealthcheck(redis), 'redis has a health check');
check(
  (redis?.volumes ?? []).some((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`).includes(':/data')),
  'redis data on a volume',
);
for (const n of ['postgres', 'redis', 'haproxy']) {
  check(['unless-stopped', 'always'].includes(services[n]?.restart), `${n} restarts`);
  check(Boolean(services[n]?.stop_grace_period), `${n} has a stop_grace_period`);
}

const lb = services.haproxy;
const published = names.filter((n) => services[n].ports?.length);
check(published.length === 1 && published[0] === 'haproxy', 'only haproxy publishes a port');
check(
  (lb?.ports ?? []).some((p) => (typeof p === 'string' ? /^(\d+\.\d+\.\d+\.\d+:)?8080:8080$/.test(p) : p.published == 8080 && p.target == 8080)),
  'haproxy publishes 8080',
);
check(
  (lb?.volumes ?? []).some((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`).includes('deploy/haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg')),
  'haproxy mounts deploy/haproxy/haproxy.cfg',
);
const lbNets = Object.keys(Array.isArray(lb?.networks) ? Object.fromEntries(lb.networks.map((x) => [x, 1])) : (lb?.networks ?? {}));
check(
  apis.every((n) => {
    const nets = services[n].networks;
    const list = Array.isArray(nets) ? nets : Object.keys(nets ?? {});
    return lbNets.some((x) => list.includes(x));
  }),
  'haproxy shares a network with every API replica',
);

// Cross references and durations (what compose checks after the schema).
for (const n of names) {
  const s = services[n];
  for (const d of Object.keys(deps(s))) quietly(names.includes(d), `${n} depends on an undefined service ${d}`);
  const nets = Array.isArray(s.networks) ? s.networks : Object.keys(s.networks ?? {});
  for (const x of nets) quietly(cfg.networks && x in cfg.networks, `${n}: network ${x} is not declared`);
  const go = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
  for (const [k, v] of [
    ['stop_grace_period', s.stop_grace_period],
    ['healthcheck.interval', s.healthcheck?.interval],
    ['healthcheck.timeout', s.healthcheck?.timeout],
    ['healthcheck.start_period', s.healthcheck?.start_period],
  ]) {
    if (v !== undefined) quietly(go.test(String(v)), `${n}: ${k} ${v} is not a duration`);
  }
}
check(!problems.some((p) => / (undefined service|is not declared|is not a duration)/.test(p)), 'dependencies and networks defined, durations valid');

// haproxy.cfg balances exactly the compose API services.
const hap = fs.readFileSync('deploy/haproxy/haproxy.cfg', 'utf8').replace(/#.*$/gm, '');
const servers = [...hap.matchAll(/^\s*server\s+(\S+)\s+(\S+)/gm)].map((m) => m[2]);
check(
  servers.length === apis.length && apis.every((n) => servers.includes(`${n}:8080`)),
  `haproxy servers are the API services (${servers.join(', ')}), on the API port only (no metrics port)`,
);
check(/^\s*option\s+httpchk\b/m.test(hap) && /http-check\s+send\s+meth\s+GET\s+uri\s+\/health\b/.test(hap), 'haproxy checks GET /health');
check(/http-check\s+expect\s+status\s+200/.test(hap), 'haproxy expects 200 from /health');
check(/^\s*default-server\b.*\bcheck\b/m.test(hap), 'haproxy health checks every server');
check(/^\s*option\s+forwardfor\b/m.test(hap), 'haproxy sends X-Forwarded-For');
check(/^\s*bind\s+(\*|0\.0\.0\.0)?:8080\b/m.test(hap), 'haproxy listens on 8080');
check(/\binit-addr\s+\S*none\b/.test(hap), 'haproxy starts with unresolvable replicas (init-addr … none)');

if (problems.length) {
  console.error(`\n${problems.length} check(s) failed:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
EOF

# ------------------------------------------------------------------------------------------
section "deploy/haproxy/haproxy.cfg"

if ! haproxy -c -f deploy/haproxy/haproxy.cfg >"$WORK/haproxy-c.out" 2>&1; then
  cat "$WORK/haproxy-c.out" >&2
  die "haproxy -c rejected deploy/haproxy/haproxy.cfg"
fi
# Outside compose the replica names do not resolve (init-addr none): any other warning is a finding.
other="$(grep -E '\[(WARNING|ALERT)\]' "$WORK/haproxy-c.out" | grep -v "could not resolve address 'api-[0-9]*'" || true)"
[ -z "$other" ] || die "haproxy -c warnings:
$other"
ok "haproxy -c: valid, no warning but the unresolvable replica names"

# ------------------------------------------------------------------------------------------
section "Dockerfile and .dockerignore"

TOOLS="${XDG_CACHE_HOME:-$HOME/.cache}/lapi-deploy-tools"
DFU_VERSION=0.16.3
if [ "$(node -p "try { require('$TOOLS/node_modules/dockerfile-utils/package.json').version } catch { '' }")" != "$DFU_VERSION" ]; then
  info "installing dockerfile-utils@$DFU_VERSION (npm) in $TOOLS"
  mkdir -p "$TOOLS"
  npm install --prefix "$TOOLS" --no-audit --no-fund --no-save --loglevel=error "dockerfile-utils@$DFU_VERSION" >/dev/null
fi
"$TOOLS/node_modules/.bin/dockerfile-utils" lint Dockerfile || die "dockerfile-utils lint found problems in the Dockerfile"
ok "dockerfile-utils lint: no problem"

node - <<'EOF'
const fs = require('node:fs');
const problems = [];
const check = (cond, what) => {
  if (cond) console.log(`  ok: ${what}`);
  else problems.push(what);
};
// Instructions of the Dockerfile: continuation lines joined, comments dropped.
const lines = fs.readFileSync('Dockerfile', 'utf8').split('\n');
const instructions = [];
let current = '';
for (const line of lines) {
  if (!current && /^\s*(#|$)/.test(line)) continue;
  if (current && /^\s*#/.test(line)) continue;
  if (/\\\s*$/.test(line)) {
    current += line.replace(/\\\s*$/, ' ');
    continue;
  }
  current += line;
  const m = /^\s*(\w+)\s+([\s\S]*)$/.exec(current);
  if (m) instructions.push({ op: m[1].toUpperCase(), args: m[2].trim().replace(/\s+/g, ' ') });
  current = '';
}
const args = Object.fromEntries(instructions.filter((i) => i.op === 'ARG').map((i) => i.args.split('=')));
const stages = [];
for (const i of instructions) {
  if (i.op === 'FROM') {
    const [image, , name] = i.args.split(' ');
    stages.push({ image: image.replace(/^\$\{?(\w+)\}?$/, (_, v) => args[v] ?? _), name, body: [] });
  } else if (stages.length) stages.at(-1).body.push(i);
}
const stage = (n) => stages.find((s) => s.name === n);
const has = (s, op, re) => (s?.body ?? []).some((i) => i.op === op && re.test(i.args));
check(stages.length === 3 && ['deps', 'build', 'runtime'].every((n) => stage(n)), 'stages deps, build, runtime');
check(stage('deps')?.image === 'node:20-bookworm-slim', 'deps stage on node:20-bookworm-slim');
check(stage('build')?.image === 'deps', 'build stage starts from deps');
check(stage('runtime')?.image === 'node:20-bookworm-slim', 'runtime stage on node:20-bookworm-slim');
check(has(stage('deps'), 'RUN', /\bnpm ci\b/), 'deps: npm ci');
check(has(stage('deps'), 'COPY', /^package\.json package-lock\.json \.\/$/), 'deps: only package*.json copied before npm ci');
for (const p of ['.swcrc', 'apps', 'libs', 'tsconfig.json', 'scripts/bundle-cli.mjs'])
  check(has(stage('build'), 'COPY', new RegExp(`(^|\\s)${p.replace('.', '\\.')}(\\s|$)`)), `build: copies ${p}`);
check(has(stage('build'), 'RUN', /\bnpm run build\b/), 'build: npm run build');
const rt = stage('runtime');
check(has(rt, 'RUN', /\bnpm ci\b(?=.*--omit=dev)(?=.*--ignore-scripts)/), 'runtime: npm ci --omit=dev --ignore-scripts');
check(has(rt, 'COPY', /^--from=build \/app\/dist \.\/dist$/), 'runtime: dist/ from the build stage');
check(has(rt, 'COPY', /^bin \.\/bin$/), 'runtime: bin/');
check(!has(rt, 'COPY', /(^|\s)(apps|libs|node_modules)(\s|\/|$)/), 'runtime: no sources nor dev node_modules copied');
check(has(rt, 'ENV', /\bNODE_ENV=production\b/), 'runtime: NODE_ENV=production');
check(has(rt, 'ENV', /\bLAPI_LISTEN_URI=0\.0\.0\.0:8080\b/), 'runtime: listens on 0.0.0.0:8080');
const users = (rt?.body ?? []).filter((i) => i.op === 'USER');
check(users.length > 0 && !/^(root|0)(:|$)/.test(users.at(-1).args), `runtime: runs as a non-root user (${users.at(-1)?.args})`);
check(has(rt, 'RUN', /\/usr\/local\/bin\/lapi\b/) && has(rt, 'RUN', /bin\/lapi\.js/), 'runtime: `lapi` CLI on the PATH');
const hcI = (rt?.body ?? []).find((i) => i.op === 'HEALTHCHECK');
let hcCmd;
try {
  hcCmd = JSON.parse(/\bCMD (\[.*\])$/.exec(hcI?.args ?? '')?.[1] ?? 'null');
} catch {}
check(Array.isArray(hcCmd) && hcCmd[0] === 'node' && hcCmd.join(' ').includes('/health'), 'runtime: HEALTHCHECK runs node against /health');
const cmdI = (rt?.body ?? []).filter((i) => i.op === 'CMD').at(-1);
check(cmdI?.args === '["node", "dist/apps/api/src/main.js"]', 'runtime: default command is the API');
check(!(rt?.body ?? []).some((i) => i.op === 'ENTRYPOINT'), 'runtime: no ENTRYPOINT (commands are overridable as a whole)');

const ignore = fs.readFileSync('.dockerignore', 'utf8').split('\n').map((l) => l.trim());
for (const p of ['node_modules', 'dist', 'data', '.git', 'coverage', '.test-data', '.env'])
  check(ignore.includes(p) || ignore.includes(`${p}/`), `.dockerignore: ${p}`);
if (problems.length) {
  console.error(`\n${problems.length} check(s) failed:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
EOF

if [ "$STATIC" = 1 ]; then
  section "static checks passed (--static: runtime layout not run)"
  exit 0
fi

# ------------------------------------------------------------------------------------------
section "image layout, run on this machine (no Docker)"

# Build stage: the Dockerfile's COPYs (checked above) into a scratch directory, npm run build there.
mkdir -p "$WORK/build" "$WORK/app"
cp package.json package-lock.json .swcrc tsconfig.json "$WORK/build/"
cp -R apps libs "$WORK/build/"
mkdir -p "$WORK/build/scripts" && cp scripts/bundle-cli.mjs "$WORK/build/scripts/"
ln -s "$ROOT/node_modules" "$WORK/build/node_modules"
(cd "$WORK/build" && npm run -s build) || die "npm run build failed in the build-stage copy"
ok "build stage: npm run build"

# Runtime stage: production dependencies only (no install scripts), dist/ and bin/.
cp package.json package-lock.json "$WORK/app/"
(cd "$WORK/app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) ||
  die "npm ci --omit=dev --ignore-scripts failed"
cp -R "$WORK/build/dist" "$WORK/app/dist"
cp -R bin "$WORK/app/bin"
[ ! -e "$WORK/app/node_modules/@swc/core" ] && [ ! -e "$WORK/app/node_modules/jest" ] ||
  die "dev dependencies in the runtime node_modules"
ok "runtime stage: npm ci --omit=dev --ignore-scripts, dist/, bin/ (no dev dependency installed)"

BASE_DB_URL="${TEST_DATABASE_URL:-${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}}"
SCRATCH_DB="lapi_deploy_$$"
db_url="$(node -e 'const u = new URL(process.argv[1]); u.pathname = "/" + process.argv[2]; console.log(u.href)' "$BASE_DB_URL" "$SCRATCH_DB")"
node -e '
  const sql = require("postgres")(process.argv[1], { onnotice() {}, max: 1, connect_timeout: 10 });
  sql.unsafe(`create database "${process.argv[2]}"`).then(
    () => sql.end(),
    (e) => { console.error(e.message); process.exit(1); },
  );
' "$BASE_DB_URL" "$SCRATCH_DB" || die "cannot create a scratch database on $BASE_DB_URL (set TEST_DATABASE_URL)"
ok "scratch database $SCRATCH_DB"

# N distinct free loopback ports, all held at once while the kernel picks them.
free_ports() {
  node -e '
    const net = require("node:net");
    const servers = Array.from({ length: Number(process.argv[1]) }, () => net.createServer());
    Promise.all(servers.map((s) => new Promise((ok) => s.listen(0, "127.0.0.1", ok)))).then(() => {
      console.log(servers.map((s) => s.address().port).join(" "));
      servers.forEach((s) => s.close());
    });
  ' "$1"
}
read -r dead_port LB_PORT api_port_1 api_port_2 api_port_3 embedded_port echo_port echo_lb_port api_metrics_port \
  worker_metrics_port <<<"$(free_ports 10)"
API_PORTS=("$api_port_1" "$api_port_2" "$api_port_3")
SECRET="$(node -e 'process.stdout.write(require("node:crypto").randomBytes(64).toString("hex"))')"
REDIS="${TEST_REDIS_URL:-${REDIS_URL:-redis://127.0.0.1:6379}}"
# As the image's USER: an unprivileged account that cannot write to the app directory (root owns it, 755).
AS_APP_USER=()
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  AS_APP_USER=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  chmod 755 "$WORK"
  chmod -R go-w "$WORK/app"
  mkdir -p "$WORK/data" && chown 65534:65534 "$WORK/data"
fi
# Runs a command as in a container: only what the image and compose set (no CI variables), extra
# VAR=VALUE first. Replaces the calling (sub)shell, so call it in ( … ) or as the last command of start.
in_container() {
  exec "${AS_APP_USER[@]}" env -i PATH="$PATH" HOME=/nonexistent NODE_ENV=production LAPI_LOG_FORMAT=json \
    LAPI_DATA_DIR="$WORK/data" DATABASE_URL="$db_url" REDIS_URL="$REDIS" "$@"
}
lapi() { (cd "$WORK/app" && in_container node bin/lapi.js "$@"); }
# http METHOD URL [HEADER:VALUE] [BODY] → prints "STATUS BODY" (as a CrowdSec agent: the login wants its user agent)
http() {
  node -e '
    const [method, url, header, body] = process.argv.slice(1);
    const headers = { "content-type": "application/json", "user-agent": "crowdsec/v1.6.0-deploy-check" };
    if (header) headers[header.slice(0, header.indexOf(":"))] = header.slice(header.indexOf(":") + 1);
    fetch(url, { method, headers, body: body || undefined, signal: AbortSignal.timeout(10000) })
      .then(async (r) => console.log(r.status, await r.text()))
      .catch((e) => { console.log(0, e.message); });
  ' "$@"
}
wait_for() { # wait_for SECONDS DESCRIPTION LOG COMMAND… (every 0.25 s; LOG: a file to show on failure, or -)
  local limit="$1" what="$2" log="$3" i pid
  shift 3
  for ((i = 0; i < limit * 4; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    for pid in "${PIDS[@]}"; do
      kill -0 "$pid" 2>/dev/null || is_stopped "$pid" ||
        die "a process started here died while waiting for $what; logs: $(tail -n 5 "$WORK"/*.log)"
    done
    sleep 0.25
  done
  [ "$log" = - ] || { echo "last lines of $log:" && tail -n 20 "$log"; } >&2
  die "timed out after ${limit}s waiting for $what"
}
start() { # start NAME COMMAND… → background process (its PID in PID[NAME]), output in $WORK/NAME.log
  local name="$1"
  shift
  (
    cd "$WORK/app"
    if [ "$(type -t "$1")" = function ]; then "$@"; else exec "$@"; fi
  ) >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  PID[$name]=$!
}
stop_gracefully() { # stop_gracefully NAME PID: SIGTERM, exit 0 within 20 s
  local name="$1" pid="$2" i rc
  STOPPED+="$pid "
  kill -TERM "$pid"
  for ((i = 0; i < 80; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -0 "$pid" 2>/dev/null && die "$name did not exit within 20 s of SIGTERM"
  rc=0
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || die "$name exited $rc after SIGTERM: $(tail -n 5 "$WORK/$name.log")"
  ok "$name: exit 0 on SIGTERM"
}

lapi migrate >"$WORK/migrate.log" 2>&1 || die "lapi migrate failed: $(cat "$WORK/migrate.log")"
ok "migrate: node bin/lapi.js migrate (compose's one-shot service)"

# The image's HEALTHCHECK command, as written in the Dockerfile.
node -e '
  const text = require("node:fs").readFileSync("Dockerfile", "utf8").replace(/\\\n/g, " ");
  const cmd = JSON.parse(/^HEALTHCHECK .*?CMD (\[.*\])\s*$/m.exec(text)[1]);
  require("node:fs").writeFileSync(process.argv[1], JSON.stringify(cmd));
' "$WORK/healthcheck.json"
healthcheck() { # healthcheck PORT
  node -e '
    const { spawnSync } = require("node:child_process");
    const [cmd, ...args] = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    process.exit(spawnSync(cmd, args, { stdio: "ignore", timeout: 10000, env: { ...process.env, LAPI_LISTEN_URI: "0.0.0.0:" + process.argv[2] } }).status ?? 1);
  ' "$WORK/healthcheck.json" "$1"
}
if healthcheck "$dead_port"; then die "the HEALTHCHECK command passes with no server listening"; fi
ok "HEALTHCHECK fails with no server"

# All three ask for one metrics address, as replicas on one host with the default would: api-1 gets it (started
# first, waited for), the others warn and serve the API.
for n in 1 2 3; do
  port="${API_PORTS[$((n - 1))]}"
  start "api-$n" in_container CS_LAPI_SECRET="$SECRET" LAPI_LISTEN_URI="127.0.0.1:$port" \
    LAPI_METRICS_LISTEN_URI="127.0.0.1:$api_metrics_port" node dist/apps/api/src/main.js
  if [ "$n" = 1 ]; then
    wait_for 60 "api-1 to serve its metrics" "$WORK/api-1.log" grep -q 'metrics on ' "$WORK/api-1.log"
  fi
done
for n in 1 2 3; do
  port="${API_PORTS[$((n - 1))]}"
  wait_for 60 "api-$n (127.0.0.1:$port) to pass the image's HEALTHCHECK" "$WORK/api-$n.log" healthcheck "$port"
  ok "api-$n (127.0.0.1:$port) passes the image's HEALTHCHECK"
done
if [ "${#AS_APP_USER[@]}" -gt 0 ]; then
  [ "$(ps -o uid= -p "${PID[api-1]}" | tr -d ' ')" = 65534 ] || die "api-1 does not run as uid 65534"
  ok "the APIs, worker and CLI run unprivileged (uid 65534), the app directory read-only to them"
fi

# HAProxy with deploy/haproxy/haproxy.cfg, the replicas' names replaced by their loopback addresses.
awk -v lb="$LB_PORT" -v p1="${API_PORTS[0]}" -v p2="${API_PORTS[1]}" -v p3="${API_PORTS[2]}" '
  /^resolvers / { skip = 1; next }
  skip && /^[^ \t]/ { skip = 0 }
  skip { next }
  /^[ \t]*default-server / { sub(/ resolvers [^ ]+/, ""); sub(/ resolve-prefer [^ ]+/, "") }
  /^[ \t]*bind :8080/ { sub(/:8080/, "127.0.0.1:" lb) }
  /^[ \t]*server api-1 / { sub(/api-1:8080/, "127.0.0.1:" p1) }
  /^[ \t]*server api-2 / { sub(/api-2:8080/, "127.0.0.1:" p2) }
  /^[ \t]*server api-3 / { sub(/api-3:8080/, "127.0.0.1:" p3) }
  { print }
' deploy/haproxy/haproxy.cfg >"$WORK/haproxy.cfg"
grep -q "127.0.0.1:${API_PORTS[2]}" "$WORK/haproxy.cfg" && ! grep -v '^[[:space:]]*#' "$WORK/haproxy.cfg" | grep -q resolve ||
  die "could not derive a loopback haproxy.cfg from deploy/haproxy/haproxy.cfg"
haproxy -c -q -f "$WORK/haproxy.cfg" || die "the loopback copy of haproxy.cfg is invalid"
start haproxy haproxy -db -f "$WORK/haproxy.cfg"
LB="http://127.0.0.1:$LB_PORT"
lb_health() { [ "$(http GET "$LB/health")" = '200 {"status":"up"}' ]; }
wait_for 30 "GET /health through haproxy" "$WORK/haproxy.log" lb_health
ok "haproxy (127.0.0.1:$LB_PORT) forwards GET /health"
res="$(http GET "http://127.0.0.1:$api_metrics_port/metrics")"
case "$res" in "200 # HELP "*) ;; *) die "api-1 metrics (127.0.0.1:$api_metrics_port): ${res:0:200}" ;; esac
[ "$(http GET "$LB/metrics")" = "404 " ] || die "GET /metrics through haproxy: $(http GET "$LB/metrics" | head -c 200)"
grep -q 'metrics not served' "$WORK/api-2.log" || die "api-2 did not warn that the metrics address was taken"
ok "metrics on their own address (api-1), 404 on the API port through haproxy; api-2 warned it was taken"

key="$(lapi bouncers add deploy-smoke -o raw)" || die "lapi bouncers add failed"
for _ in 1 2 3 4 5 6; do
  res="$(http GET "$LB/v1/decisions?ip=1.2.3.4" "X-Api-Key:$key")"
  [ "$res" = "200 null" ] || die "GET /v1/decisions through haproxy: $res"
done
ok "a bouncer added with the CLI queries decisions through haproxy (6 requests)"

password="$(node -e 'process.stdout.write(require("node:crypto").randomBytes(16).toString("hex"))')"
lapi machines add deploy-agent --password "$password" >/dev/null || die "lapi machines add failed"
login="$(http POST "$LB/v1/watchers/login" "" "{\"machine_id\":\"deploy-agent\",\"password\":\"$password\",\"scenarios\":[]}")"
token="$(node -e 'const s = process.argv[1]; if (!s.startsWith("200 ")) process.exit(1); console.log(JSON.parse(s.slice(4)).token)' "$login")" ||
  die "login through haproxy: $login"
for _ in 1 2 3 4 5 6; do
  res="$(http GET "$LB/v1/heartbeat" "Authorization:Bearer $token")"
  [ "${res%% *}" = 200 ] || die "GET /v1/heartbeat through haproxy with a token from another replica: $res"
done
ok "a machine's token from one replica is accepted by all (6 heartbeats, shared CS_LAPI_SECRET)"
sleep 0.5
used="$(grep -oE 'lapi_api/api-[0-9]' "$WORK/haproxy.log" | sort -u | tr '\n' ' ')"
[ "$(echo "$used" | wc -w)" = 3 ] || die "haproxy did not balance over the 3 replicas (used: $used; log: $(tail -n 5 "$WORK/haproxy.log"))"
ok "haproxy balanced over $used"

# X-Forwarded-For: the same HAProxy configuration in front of a server that echoes the headers it gets.
start echo node -e '
  require("node:http").createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(req.headers));
  }).listen(Number(process.argv[1]), "127.0.0.1");
' "$echo_port"
sed -E -e "s/127\.0\.0\.1:(${API_PORTS[0]}|${API_PORTS[1]}|${API_PORTS[2]})\b/127.0.0.1:$echo_port/" \
  -e "s/127\.0\.0\.1:$LB_PORT\b/127.0.0.1:$echo_lb_port/" "$WORK/haproxy.cfg" >"$WORK/haproxy-echo.cfg"
start haproxy-echo haproxy -db -f "$WORK/haproxy-echo.cfg"
echo_xff() {
  http GET "http://127.0.0.1:$echo_lb_port/" "X-Forwarded-For:203.0.113.9" |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const h = JSON.parse(s.slice(s.indexOf(" ") + 1));
      process.exit(h["x-forwarded-for"] === "127.0.0.1" && h["x-forwarded-proto"] === "http" ? 0 : 1);
    })'
}
wait_for 30 "X-Forwarded-For: 127.0.0.1 (the client's address, not the forged one) behind haproxy" - echo_xff
ok "haproxy sends the client's address in X-Forwarded-For, replacing one the client forged"

stop_gracefully api-2 "${PID[api-2]}"
for _ in 1 2 3 4 5 6; do
  res="$(http GET "$LB/v1/heartbeat" "Authorization:Bearer $token")"
  [ "${res%% *}" = 200 ] || die "GET /v1/heartbeat with api-2 stopped: $res"
done
ok "with api-2 stopped, requests still succeed (retried on another replica)"

start worker-1 in_container LAPI_METRICS_LISTEN_URI="127.0.0.1:$worker_metrics_port" node dist/apps/worker/src/main.js
wait_for 30 "the worker to start" "$WORK/worker-1.log" grep -q 'worker started' "$WORK/worker-1.log"
ok "worker-1 started without CS_LAPI_SECRET"
res="$(http GET "http://127.0.0.1:$worker_metrics_port/metrics")"
case "$res" in "200 # HELP "*) ;; *) die "worker-1 metrics (127.0.0.1:$worker_metrics_port): ${res:0:200}" ;; esac
ok "worker-1 serves its metrics on LAPI_METRICS_LISTEN_URI"

stop_gracefully worker-1 "${PID[worker-1]}"
stop_gracefully api-1 "${PID[api-1]}"
stop_gracefully api-3 "${PID[api-3]}"

# The image alone, embedded database in LAPI_DATA_DIR (deploy/README.md): an empty DATABASE_URL is unset.
start embedded in_container DATABASE_URL= REDIS_URL= LAPI_LISTEN_URI="127.0.0.1:$embedded_port" node dist/apps/api/src/main.js
wait_for 60 "the embedded-mode API to pass the image's HEALTHCHECK" "$WORK/embedded.log" healthcheck "$embedded_port"
key="$(cd "$WORK/app" && in_container DATABASE_URL= REDIS_URL= node bin/lapi.js bouncers add embedded-check -o raw)" || die "lapi bouncers add (embedded mode) failed"
res="$(http GET "http://127.0.0.1:$embedded_port/v1/decisions?ip=1.2.3.4" "X-Api-Key:$key")"
[ "$res" = "200 null" ] || die "embedded mode: GET /v1/decisions: $res"
[ -s "$WORK/data/jwt-secret" ] || die "embedded mode: no jwt-secret generated in LAPI_DATA_DIR"
ok "embedded mode: serves, the CLI goes through the admin socket, jwt-secret kept in LAPI_DATA_DIR"
stop_gracefully embedded "${PID[embedded]}"

node - "$WORK" <<'EOF' || die "non-JSON log lines"
const fs = require('node:fs');
let bad = 0;
let count = 0;
for (const name of ['api-1', 'api-2', 'api-3', 'worker-1', 'embedded']) {
  for (const line of fs.readFileSync(`${process.argv[2]}/${name}.log`, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    count++;
    try {
      JSON.parse(line);
    } catch {
      bad++;
      console.error(`  ${name}: not JSON: ${line.slice(0, 200)}`);
    }
  }
}
if (bad || count === 0) process.exit(1);
console.log(`  ok: LAPI_LOG_FORMAT=json: ${count} log lines of the APIs and the worker, all JSON`);
EOF

section "all deployment checks passed"
