#!/usr/bin/env bash
# Renders the Kubernetes manifests (deploy/k8s: base and overlays/example) with `kubectl kustomize` and checks the
# objects (check_objects, below): kinds, replicas, probes, grace periods against the processes' own shutdown
# bounds, resources, security contexts, selectors between Deployments, Services, PDBs, HPA, NetworkPolicies and the
# ServiceMonitor, Secret/ConfigMap references, no secret in the base. No cluster needed.
#
# Needs kubectl with its built-in kustomize: any version from Debian 12's kubernetes-client (1.20, kustomize 2.0.3)
# on (.ci/run installs kubernetes-client when no kubectl is on the PATH). Run from anywhere:
#   bash test/deploy/k8s-validate.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

ok() { printf '  ok: %s\n' "$*"; }
die() {
  printf '\nK8S VALIDATION FAILED: %s\n' "$*" >&2
  exit 1
}

command -v kubectl >/dev/null || die "kubectl not found: apt-get install kubernetes-client"
[ -d node_modules/yaml ] || die "node_modules incomplete: run npm ci first"
printf '  %s\n' "$(kubectl version --client 2>/dev/null | head -n 1)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/lapi-k8s.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# check_objects base|overlay RENDERED.yaml: one line per check; fails listing the failed ones.
check_objects() {
  node - "$@" <<'JS'
'use strict';
const fs = require('node:fs');
const YAML = require('yaml');

const [which, file] = process.argv.slice(2);
if (!['base', 'overlay'].includes(which) || !file) {
  console.error('usage: check_objects base|overlay RENDERED.yaml');
  process.exit(2);
}
const objects = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))
  .map((d) => d.toJS())
  .filter(Boolean);
const problems = [];
const check = (cond, what) => {
  if (cond) console.log(`  ok: ${what}`);
  else problems.push(what);
};

const all = (kind) => objects.filter((o) => o.kind === kind);
const one = (kind, component) =>
  all(kind).find((o) => o.metadata?.labels?.['app.kubernetes.io/component'] === component);
const matches = (selector, labels) =>
  Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels?.[k] === v) &&
  (selector?.matchExpressions ?? []).every((e) =>
    e.operator === 'In'
      ? e.values.includes(labels?.[e.key])
      : e.operator === 'Exists'
        ? e.key in (labels ?? {})
        : false,
  ) &&
  Object.keys(selector?.matchLabels ?? {}).length + (selector?.matchExpressions ?? []).length > 0;
const podSpecs = () =>
  [...all('Deployment'), ...all('Job')].map((o) => ({
    owner: `${o.kind}/${o.metadata.name}`,
    spec: o.spec.template.spec,
    labels: o.spec.template.metadata?.labels,
  }));
const containersOf = (spec) => [...(spec.initContainers ?? []), ...(spec.containers ?? [])];

// The process' own shutdown bounds, read from the code, so the grace periods follow them.
const graceMs = (path) =>
  Number(/SHUTDOWN_GRACE_MS = ([\d_]+)/.exec(fs.readFileSync(path, 'utf8'))[1].replace(/_/g, ''));
const apiGraceS = graceMs('apps/api/src/main.ts') / 1000;
const workerGraceS = graceMs('apps/worker/src/main.ts') / 1000;

// ---- kinds and counts
const count = (kind) => all(kind).length;
check(
  count('Deployment') === 2 && one('Deployment', 'api') && one('Deployment', 'worker'),
  'Deployments: api and worker',
);
check(count('Job') === 1 && one('Job', 'migrate'), 'a migration Job');
check(
  count('Service') === 3 && all('Service').some((s) => s.metadata.name === 'crowdsec-lapi'),
  'Services: crowdsec-lapi, the API metrics and the worker metrics',
);
check(count('PodDisruptionBudget') === 2, 'a PodDisruptionBudget for the API and one for the workers');
check(count('HorizontalPodAutoscaler') === 1, 'a HorizontalPodAutoscaler');
check(count('NetworkPolicy') === 3, 'NetworkPolicies: api, worker, migrate');
check(
  count('ServiceMonitor') === 1 && all('ServiceMonitor')[0].apiVersion === 'monitoring.coreos.com/v1',
  'a ServiceMonitor (monitoring.coreos.com/v1)',
);
check(all('ConfigMap').length === 2, 'ConfigMaps: environment and profiles');

const api = one('Deployment', 'api');
const worker = one('Deployment', 'worker');
const job = one('Job', 'migrate');
const apiPod = api.spec.template.spec;
const workerPod = worker.spec.template.spec;
const apiC = apiPod.containers.find((c) => c.name === 'api');
const workerC = workerPod.containers.find((c) => c.name === 'worker');

// ---- commands: the image's entry points
check(apiC.command.join(' ') === 'node dist/apps/api/src/main.js', 'api runs node dist/apps/api/src/main.js');
check(
  workerC.command.join(' ') === 'node dist/apps/worker/src/main.js',
  'worker runs node dist/apps/worker/src/main.js',
);
for (const { owner, spec } of podSpecs()) {
  const migrate = containersOf(spec).find((c) => c.name === 'migrate');
  check(migrate?.command.join(' ') === 'node bin/lapi.js migrate', `${owner}: runs \`node bin/lapi.js migrate\` first`);
}
check(
  job.spec.template.spec.restartPolicy === 'OnFailure' && job.spec.ttlSecondsAfterFinished > 0,
  'the Job retries, and goes away after it finished',
);

// ---- replicas, HPA, PDB
check(api.spec.replicas === 3, 'api: 3 replicas');
check(worker.spec.replicas >= 2, `worker: ${worker.spec.replicas} replicas (a standby for each lease)`);
const hpa = all('HorizontalPodAutoscaler')[0];
check(
  hpa.apiVersion === 'autoscaling/v2' &&
    hpa.spec.scaleTargetRef.kind === 'Deployment' &&
    hpa.spec.scaleTargetRef.name === api.metadata.name,
  'the HPA scales the API Deployment',
);
check(
  hpa.spec.minReplicas >= 3 && hpa.spec.maxReplicas > hpa.spec.minReplicas,
  `HPA ${hpa.spec.minReplicas}..${hpa.spec.maxReplicas}`,
);
check(
  hpa.spec.metrics.some((m) => m.type === 'Resource' && m.resource.name === 'cpu'),
  'the HPA scales on CPU',
);
for (const pdb of all('PodDisruptionBudget')) {
  const target = all('Deployment').filter((d) => matches(pdb.spec.selector, d.spec.template.metadata.labels));
  check(
    target.length === 1 && (pdb.spec.maxUnavailable === 1 || pdb.spec.minAvailable !== undefined),
    `PDB ${pdb.metadata.name} covers exactly ${target.map((d) => d.metadata.name)} (maxUnavailable 1)`,
  );
}

// ---- probes and shutdown
const port = (c, name) => (typeof name === 'number' ? name : c.ports?.find((p) => p.name === name)?.containerPort);
const listen = (objectsEnv) => objectsEnv.LAPI_LISTEN_URI;
check(
  apiC.readinessProbe?.httpGet?.path === '/health/ready' && port(apiC, apiC.readinessProbe.httpGet.port) === 8080,
  'api readiness: GET /health/ready on 8080',
);
check(
  apiC.livenessProbe?.httpGet?.path === '/health' && port(apiC, apiC.livenessProbe.httpGet.port) === 8080,
  'api liveness: GET /health on 8080',
);
check(apiC.readinessProbe.timeoutSeconds >= 3, 'readiness timeout above the 2 s bound of each check');
const preStop = apiC.lifecycle?.preStop?.exec?.command ?? [];
const sleepS = preStop[0] === 'sleep' ? Number(preStop[1]) : 0;
check(sleepS >= 3, `api preStop sleeps ${sleepS} s before SIGTERM`);
check(
  apiPod.terminationGracePeriodSeconds > sleepS + apiGraceS,
  `api grace ${apiPod.terminationGracePeriodSeconds} s > preStop ${sleepS} s + shutdown bound ${apiGraceS} s`,
);
check(
  workerPod.terminationGracePeriodSeconds > workerGraceS,
  `worker grace ${workerPod.terminationGracePeriodSeconds} s > its shutdown bound ${workerGraceS} s`,
);
check(
  (apiPod.topologySpreadConstraints ?? []).some(
    (t) => t.topologyKey === 'kubernetes.io/hostname' && matches(t.labelSelector, api.spec.template.metadata.labels),
  ),
  'api pods spread over nodes',
);
check(api.spec.strategy?.rollingUpdate?.maxUnavailable === 0, 'rolling updates never drop below the replica count');

// ---- resources and security of every container
for (const { owner, spec } of podSpecs()) {
  const sc = spec.securityContext ?? {};
  check(
    sc.runAsNonRoot === true && sc.runAsUser === 1000 && sc.seccompProfile?.type === 'RuntimeDefault',
    `${owner}: non-root (uid 1000, the image's node), seccomp RuntimeDefault`,
  );
  check(spec.automountServiceAccountToken === false, `${owner}: no service account token`);
  for (const c of containersOf(spec)) {
    const r = c.resources ?? {};
    check(
      r.requests?.cpu && r.requests?.memory && r.limits?.memory,
      `${owner}/${c.name}: cpu/memory requests and a memory limit`,
    );
    const csc = c.securityContext ?? {};
    check(
      csc.allowPrivilegeEscalation === false &&
        csc.readOnlyRootFilesystem === true &&
        JSON.stringify(csc.capabilities?.drop) === '["ALL"]',
      `${owner}/${c.name}: read-only root, no privilege escalation, all capabilities dropped`,
    );
  }
}

// ---- labels and selectors
for (const d of all('Deployment')) {
  check(matches(d.spec.selector, d.spec.template.metadata.labels), `${d.metadata.name}: selector matches its pods`);
}
const service = all('Service').find((s) => s.metadata.name === 'crowdsec-lapi');
check(
  matches({ matchLabels: service.spec.selector }, api.spec.template.metadata.labels) &&
    !matches({ matchLabels: service.spec.selector }, worker.spec.template.metadata.labels),
  'Service crowdsec-lapi selects the API pods only',
);
check(
  service.spec.ports.some((p) => p.port === 8080 && port(apiC, p.targetPort) === 8080),
  'Service crowdsec-lapi: 8080 → the API container 8080',
);
for (const np of all('NetworkPolicy')) {
  const pods = podSpecs().filter((p) => matches(np.spec.podSelector, p.labels));
  check(pods.length === 1, `NetworkPolicy ${np.metadata.name} selects ${pods.map((p) => p.owner)}`);
  const egressPorts = (np.spec.egress ?? []).flatMap((e) => (e.ports ?? []).map((p) => `${p.protocol}/${p.port}`));
  check(
    ['UDP/53', 'TCP/5432'].every((p) => egressPorts.includes(p)),
    `${np.metadata.name}: egress to DNS and PostgreSQL`,
  );
}
const npFor = (c) => all('NetworkPolicy').find((np) => np.metadata.labels['app.kubernetes.io/component'] === c);
const ingressPorts = (np) => (np.spec.ingress ?? []).flatMap((i) => (i.ports ?? []).map((p) => p.port));
// The metrics name every machine and bouncer: only Prometheus's namespace reaches them, never the whole cluster.
const metricsFrom = (np, metricsPort) =>
  (np.spec.ingress ?? [])
    .filter((i) => (i.ports ?? []).some((p) => p.port === metricsPort))
    .every(
      (i) =>
        (i.from ?? []).length > 0 &&
        i.from.every((f) => Object.keys(f.namespaceSelector?.matchLabels ?? {}).length > 0),
    );
check(
  JSON.stringify(ingressPorts(npFor('api'))) === JSON.stringify([8080, port(apiC, 'metrics')]) &&
    npFor('api').spec.egress.some((e) => e.ports.some((p) => p.port === 6379)),
  'api: ingress 8080 and its metrics port only, egress to Redis',
);
check(
  JSON.stringify(ingressPorts(npFor('worker'))) === JSON.stringify([port(workerC, 'metrics')]),
  'worker: ingress on its metrics port only',
);
check(
  metricsFrom(npFor('api'), port(apiC, 'metrics')) && metricsFrom(npFor('worker'), port(workerC, 'metrics')),
  "metrics ports: ingress from Prometheus's namespace only",
);
check(
  (npFor('migrate').spec.ingress ?? []).length === 0 && npFor('migrate').spec.policyTypes.includes('Ingress'),
  'migrate: no ingress',
);
const sm = all('ServiceMonitor')[0];
const monitored = all('Service').filter((s) => matches(sm.spec.selector, s.metadata.labels));
check(monitored.length === 2, `ServiceMonitor selects ${monitored.map((s) => s.metadata.name)}`);
check(
  sm.spec.endpoints.every(
    (e) => e.path === '/metrics' && monitored.some((s) => s.spec.ports.some((p) => p.name === e.port)),
  ),
  'ServiceMonitor scrapes /metrics on named ports of those Services',
);
check(
  sm.spec.endpoints.every((e) => e.port === 'metrics') &&
    !monitored.includes(service) &&
    !service.spec.ports.some((p) => p.name === 'metrics'),
  'ServiceMonitor scrapes the metrics ports only; Service crowdsec-lapi carries the API port only',
);
const containerOf = (s) => (s.spec.selector['app.kubernetes.io/component'] === 'api' ? apiC : workerC);
check(
  monitored.every((s) =>
    s.spec.ports.every((p) => p.name === 'metrics' && port(containerOf(s), p.targetPort) === p.port),
  ),
  'metrics Services: port metrics → the metrics container port of their pods',
);

// ---- configuration: every reference resolves
const configMaps = new Map(all('ConfigMap').map((c) => [c.metadata.name, c.data ?? {}]));
const secrets = new Map(all('Secret').map((s) => [s.metadata.name, s.data ?? s.stringData ?? {}]));
const envCm = [...configMaps.entries()].find(([, data]) => 'LAPI_LISTEN_URI' in data);
check(
  envCm && listen(envCm[1]) === '0.0.0.0:8080',
  'LAPI_LISTEN_URI=0.0.0.0:8080 (the container port, every interface)',
);
check(
  envCm &&
    envCm[1].LAPI_METRICS_LISTEN_URI === `0.0.0.0:${port(apiC, 'metrics')}` &&
    port(apiC, 'metrics') === port(workerC, 'metrics'),
  `LAPI_METRICS_LISTEN_URI=${envCm?.[1].LAPI_METRICS_LISTEN_URI} (the API and worker containers' metrics port)`,
);
const known = fs
  .readdirSync('libs/config/src')
  .filter((f) => f.endsWith('.ts'))
  .map((f) => fs.readFileSync(`libs/config/src/${f}`, 'utf8'))
  .join('\n');
for (const key of Object.keys(envCm?.[1] ?? {})) {
  check(new RegExp(`\\b${key}:`).test(known), `${key} is a variable the server reads (libs/config)`);
}
const profilesCm = [...configMaps.entries()].find(([, data]) => 'profiles.yaml' in data);
for (const { owner, spec } of podSpecs()) {
  for (const c of containersOf(spec)) {
    for (const e of c.env ?? []) {
      const s = e.valueFrom?.secretKeyRef;
      if (s && which === 'overlay')
        check(
          secrets.has(s.name) && s.key in secrets.get(s.name),
          `${owner}/${c.name}: ${e.name} from Secret ${s.name} key ${s.key}`,
        );
      if (s && which === 'base')
        check(
          s.name === 'crowdsec-lapi' && !secrets.size,
          `${owner}/${c.name}: ${e.name} from Secret crowdsec-lapi (an overlay's)`,
        );
      check(
        !(typeof e.value === 'string' && /SECRET|PASSWORD|DATABASE_URL|REDIS_URL/.test(e.name)),
        `${owner}/${c.name}: ${e.name} is not written in the manifest`,
      );
    }
    for (const ef of c.envFrom ?? []) {
      check(
        configMaps.has(ef.configMapRef?.name),
        `${owner}/${c.name}: envFrom ConfigMap ${ef.configMapRef?.name} exists`,
      );
    }
    const mount = (c.volumeMounts ?? []).find((m) => m.name === 'profiles');
    if (mount) {
      const vol = spec.volumes.find((v) => v.name === 'profiles');
      check(
        vol.configMap.name === profilesCm?.[0] && `${mount.mountPath}/profiles.yaml` === envCm[1].LAPI_PROFILES_PATH,
        `${owner}/${c.name}: LAPI_PROFILES_PATH is the mounted profiles ConfigMap`,
      );
    }
  }
}
if (which === 'base') {
  check(secrets.size === 0, 'no Secret in the base (an overlay brings it: no secret value committed)');
  check(
    objects.every((o) => !o.metadata.namespace),
    'the base sets no namespace',
  );
} else {
  const secret = secrets.get(apiC.env.find((e) => e.name === 'CS_LAPI_SECRET').valueFrom.secretKeyRef.name);
  check(Buffer.from(secret.CS_LAPI_SECRET, 'base64').length >= 64, 'the generated CS_LAPI_SECRET has 64+ bytes');
  const images = podSpecs().flatMap(({ spec }) => containersOf(spec).map((c) => c.image));
  check(
    images.every((i) => i !== 'crowdsec-lapi' && i.includes(':')),
    `images set by the overlay (${[...new Set(images)]})`,
  );
  const namespaced = objects.filter((o) => o.kind !== 'Namespace');
  check(
    namespaced.every((o) => o.metadata.namespace === namespaced[0].metadata.namespace && o.metadata.namespace),
    `every object in namespace ${namespaced[0].metadata.namespace}`,
  );
}

if (problems.length > 0) {
  console.error(`\n${problems.length} check(s) failed (${which}):`);
  for (const p of problems) console.error(`  FAILED: ${p}`);
  process.exit(1);
}
console.log(`  ${which}: all checks passed (${objects.length} objects)`);
JS
}

render() { # render DIR OUT: kubectl kustomize, its warnings (deprecated fields in newer versions) kept apart
  kubectl kustomize "$1" >"$2" 2>"$2.err" || die "kubectl kustomize $1 failed: $(cat "$2.err")"
  ok "kubectl kustomize $1 ($(grep -c '^kind:' "$2") objects)"
}

render deploy/k8s/base "$WORK/base.yaml"
check_objects base "$WORK/base.yaml" || die "base: checks failed"

# The overlay in a copy, with a secrets.env generated here as an operator would (never committed).
cp -r deploy/k8s "$WORK/k8s"
rm -f "$WORK/k8s/overlays/example/secrets.env"
if kubectl kustomize "$WORK/k8s/overlays/example" >/dev/null 2>&1; then
  die "the example overlay renders without secrets.env: a placeholder secret could be applied"
fi
ok "the example overlay refuses to render without secrets.env"
{
  printf 'CS_LAPI_SECRET=%s\n' "$(node -e 'process.stdout.write(require("node:crypto").randomBytes(64).toString("hex"))')"
  printf 'DATABASE_URL=postgres://lapi:%s@postgres.databases.svc:5432/lapi\n' "$(node -e 'process.stdout.write(require("node:crypto").randomBytes(16).toString("hex"))')"
  printf 'REDIS_URL=redis://redis.databases.svc:6379\n'
} >"$WORK/k8s/overlays/example/secrets.env"
grep -q '^CS_LAPI_SECRET=' deploy/k8s/overlays/example/secrets.env.example || die "secrets.env.example lists no CS_LAPI_SECRET"
render "$WORK/k8s/overlays/example" "$WORK/overlay.yaml"
check_objects overlay "$WORK/overlay.yaml" || die "overlay: checks failed"
git check-ignore -q deploy/k8s/overlays/example/secrets.env || die "deploy/k8s/overlays/example/secrets.env is not ignored by git"
ok "secrets.env is ignored by git"

printf '\n  all Kubernetes checks passed\n'
