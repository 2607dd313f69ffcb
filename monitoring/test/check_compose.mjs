// Static checks of the docker-compose demo (there is no container engine
// here): monitoring/docker-compose.yml and the files it uses.
// Usage: node check_compose.mjs MONITORING_DIR EXPORTER_VERSION PROMETHEUS_VERSION
// (the versions of the binaries the other tests ran; the demo must use them).
// Prints "ok NAME" / "FAILED NAME: why".
import { readFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';

const [dir, exporterVersion, prometheusVersion] = process.argv.slice(2);
let failed = 0;
const report = (name, problems) => {
  if (problems.length === 0) console.log(`ok ${name}`);
  else { failed++; console.log(`FAILED ${name}: ${problems.join('; ')}`); }
};
const loadYaml = (file, problems) => {
  const doc = parseDocument(readFileSync(file, 'utf8'), { uniqueKeys: true, strict: true });
  for (const e of doc.errors) problems.push(`${path.relative(dir, file)}: ${e.message.split('\n')[0]}`);
  for (const w of doc.warnings) problems.push(`${path.relative(dir, file)}: ${w.message.split('\n')[0]}`);
  return doc.toJS();
};

const p = [];
const composeFile = path.join(dir, 'docker-compose.yml');
const compose = loadYaml(composeFile, p);
const services = compose?.services ?? {};
const mounts = {}; // service -> {containerPath: hostPath}
const wantServices = ['postgres', 'postgres-exporter', 'prometheus', 'grafana'];
for (const s of wantServices) if (!services[s]) p.push(`service ${s} missing`);
for (const [name, svc] of Object.entries(services)) {
  // images pinned: an explicit tag that is not "latest"
  if (!svc.image) p.push(`${name}: no image`);
  else {
    const m = /^(.+?)(?::([^/:]+))?$/.exec(svc.image);
    if (!m[2] || m[2] === 'latest') p.push(`${name}: image ${svc.image} is not pinned to a version`);
  }
  if (svc.build) {
    const ctx = path.resolve(dir, svc.build.context ?? '.');
    const df = path.resolve(ctx, svc.build.dockerfile ?? 'Dockerfile');
    if (!existsSync(ctx)) p.push(`${name}: build context ${ctx} missing`);
    if (!existsSync(df)) p.push(`${name}: Dockerfile ${df} missing`);
    else {
      const text = readFileSync(df, 'utf8').replace(/\\\n/g, ' ');
      const from = /^FROM\s+(\S+)/m.exec(text);
      if (!from || !/:[^:]+$/.test(from[1]) || /:latest$/.test(from[1])) p.push(`${name}: FROM ${from?.[1]} is not pinned`);
      // the build context is the repository root (scripts/test.sh copies
      // the sources the Dockerfile needs next to monitoring/)
      if (!existsSync(path.join(ctx, 'pg_trickle.control'))) p.push(`${name}: build context ${ctx} is not the repository root`);
      for (const line of text.split('\n')) {
        const c = /^(COPY|ADD)\s+(?!--from)(.*)$/.exec(line.trim());
        if (!c) continue;
        const parts = c[2].trim().split(/\s+/);
        for (const src of parts.slice(0, -1)) if (!existsSync(path.resolve(ctx, src))) p.push(`${name}: ${c[1]} source ${src} missing in ${ctx}`);
      }
    }
  }
  mounts[name] = {};
  for (const v of svc.volumes ?? []) {
    const spec = typeof v === 'string' ? v : `${v.source}:${v.target}`;
    const [host, target] = spec.split(':');
    if (host.startsWith('.') || host.startsWith('/')) {
      const abs = path.resolve(dir, host);
      if (!existsSync(abs)) p.push(`${name}: mounted ${host} missing`);
      mounts[name][target] = abs;
    }
  }
  for (const dep of Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {}))
    if (!services[dep]) p.push(`${name}: depends on unknown service ${dep}`);
  for (const port of svc.ports ?? []) if (!/^\d+:\d+$/.test(String(port))) p.push(`${name}: port ${port} is not HOST:CONTAINER`);
}
report('monitoring-compose-services', p);

// the demo runs what the tests ran, with our files
{
  const q = [];
  const exp = services['postgres-exporter'] ?? {};
  if (!String(exp.image).endsWith(`:v${exporterVersion}`)) q.push(`exporter image ${exp.image}, tests ran ${exporterVersion}`);
  const qp = exp.environment?.PG_EXPORTER_EXTEND_QUERY_PATH;
  if (!qp || mounts['postgres-exporter']?.[qp] !== path.join(dir, 'prometheus/pgtrickle_queries.yml'))
    q.push(`PG_EXPORTER_EXTEND_QUERY_PATH ${qp} is not prometheus/pgtrickle_queries.yml`);
  const dsn = exp.environment?.DATA_SOURCE_NAME ?? '';
  if (!/^postgresql:\/\/pgtrickle_monitor:[^@]+@postgres:5432\//.test(dsn)) q.push(`exporter DSN ${dsn} does not use pgtrickle_monitor on the postgres service`);
  const prom = services.prometheus ?? {};
  if (!String(prom.image).endsWith(`:v${prometheusVersion}`)) q.push(`prometheus image ${prom.image}, tests ran ${prometheusVersion}`);
  const pm = mounts.prometheus ?? {};
  const cfgHost = pm['/etc/prometheus/prometheus.yml'];
  if (!cfgHost) q.push('prometheus.yml not mounted at /etc/prometheus/prometheus.yml');
  else {
    const cfg = loadYaml(cfgHost, q);
    for (const rf of cfg.rule_files ?? []) {
      const target = path.posix.resolve('/etc/prometheus', rf);
      if (pm[target] !== path.join(dir, 'prometheus', path.basename(rf))) q.push(`rule file ${rf} is not mounted from prometheus/`);
    }
    const targets = (cfg.scrape_configs ?? []).flatMap(s => (s.static_configs ?? []).flatMap(c => c.targets));
    if (!targets.includes('postgres-exporter:9187')) q.push(`prometheus does not scrape postgres-exporter:9187 (${targets})`);
  }
  const gm = mounts.grafana ?? {};
  const prov = gm['/etc/grafana/provisioning'];
  if (!prov) q.push('grafana provisioning not mounted');
  else {
    const ds = loadYaml(path.join(prov, 'datasources/prometheus.yml'), q);
    const d = ds.datasources?.[0] ?? {};
    if (d.type !== 'prometheus' || d.url !== 'http://prometheus:9090') q.push(`datasource ${JSON.stringify(d)}`);
    const db = loadYaml(path.join(prov, 'dashboards/pgtrickle.yml'), q);
    const dpath = db.providers?.[0]?.options?.path;
    const dash = Object.entries(gm).find(([t]) => path.posix.dirname(t) === dpath);
    if (!dash || dash[1] !== path.join(dir, 'grafana/pgtrickle-dashboard.json')) q.push(`dashboard provider path ${dpath} holds no mounted pgtrickle-dashboard.json`);
  }
  report('monitoring-compose-wiring', q);
}

// every published port is documented in README.md
{
  const q = [];
  const readme = readFileSync(path.join(dir, 'README.md'), 'utf8');
  for (const [name, svc] of Object.entries(services))
    for (const port of svc.ports ?? []) {
      const host = String(port).split(':')[0];
      if (!new RegExp(`\\|[^\\n]*\\b${host}\\b[^\\n]*\\|`).test(readme) || !readme.includes(name)) q.push(`port ${host} of ${name} not in README.md`);
    }
  report('monitoring-compose-ports-documented', q);
}
process.exit(failed ? 1 : 0);
