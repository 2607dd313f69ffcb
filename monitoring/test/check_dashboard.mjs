// Checks monitoring/grafana/pgtrickle-dashboard.json:
//  1. against Grafana's published types (@grafana/schema, the `Dashboard`
//     type Grafana's own code uses): the JSON is written into a TypeScript
//     module as `<json> satisfies Dashboard` and type-checked with
//     `tsc --strict --noEmit`; `satisfies` checks literal values against
//     string unions and rejects properties the type does not have;
//  2. strict checks of our own (see `problems` below);
//  3. prints every panel query with the variables substituted, one JSON
//     object a line, for run_tests.sh to evaluate against Prometheus
//     (--queries OUT).
// Usage: node check_dashboard.mjs DASHBOARD.json WORKDIR [--queries OUT]
// Prints "ok NAME" / "FAILED NAME: why" lines.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const [file, work, ...rest] = process.argv.slice(2);
const queriesOut = rest[0] === '--queries' ? rest[1] : null;
const require = createRequire(import.meta.url);
let failed = 0;
const report = (name, problems) => {
  if (problems.length === 0) console.log(`ok ${name}`);
  else { failed++; console.log(`FAILED ${name}: ${problems.join('; ')}`); }
};

const text = readFileSync(file, 'utf8');
let dash;
try { dash = JSON.parse(text); } catch (e) { report('monitoring-dashboard-json', [String(e.message)]); process.exit(1); }

// --- 1. @grafana/schema ---------------------------------------------------------
{
  mkdirSync(work, { recursive: true });
  const schemaDir = path.dirname(require.resolve('@grafana/schema/package.json'));
  const ts = path.join(work, 'dashboard_check.ts');
  // JSON holds the values of TypeScript string enums (ThresholdsMode,
  // FieldColorModeId, ...), never the enum members, so the type is taken
  // as JSON sees it: each string enum becomes the union of its values
  // (`${E}`); everything else is unchanged (optional keys stay optional,
  // unknown keys stay errors).
  writeFileSync(ts, `import type { Dashboard } from '@grafana/schema';\n` +
    `type AsJson<T> = T extends string ? (string extends T ? string : \`\${T}\`)\n` +
    `  : T extends number | boolean | null | undefined ? T\n` +
    `  : T extends Array<infer U> ? Array<AsJson<U>>\n` +
    `  : T extends object ? { [K in keyof T]: AsJson<T[K]> } : T;\n` +
    `export const dashboard = ${text.trim()} satisfies AsJson<Dashboard>;\n`);
  writeFileSync(path.join(work, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, target: 'ES2022', module: 'ES2022', moduleResolution: 'bundler',
      skipLibCheck: true, exactOptionalPropertyTypes: false, types: [],
      paths: { '@grafana/schema': [path.join(schemaDir, 'dist/types/index.d.ts')] },
    },
    files: [ts],
  }));
  const tsc = require.resolve('typescript/bin/tsc');
  const problems = [];
  try {
    execFileSync(process.execPath, [tsc, '-p', path.join(work, 'tsconfig.json')], { encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    problems.push('tsc: ' + (e.stdout || '' + e.stderr || String(e)).trim().split('\n').slice(0, 8).join(' | '));
  }
  report('monitoring-dashboard-grafana-schema', problems);
}

// --- 2. own strict checks -------------------------------------------------------
const all = [];
for (const p of dash.panels ?? []) { all.push(p); for (const c of p.panels ?? []) all.push(c); }
const rows = (dash.panels ?? []).filter(p => p.type === 'row');
const vars = new Map((dash.templating?.list ?? []).map(v => [v.name, v]));
const builtins = new Set(['__rate_interval', '__interval', '__range', '__interval_ms', '__range_s', '__range_ms', '__dashboard', '__from', '__to']);
{
  const problems = [];
  const ids = new Set();
  for (const p of all) {
    if (typeof p.id !== 'number') problems.push(`panel "${p.title}" has no numeric id`);
    else if (ids.has(p.id)) problems.push(`panel id ${p.id} used twice`);
    ids.add(p.id);
    const g = p.gridPos;
    if (!g || ![g.x, g.y, g.w, g.h].every(Number.isInteger)) problems.push(`panel "${p.title}" has no complete gridPos`);
    else if (g.x < 0 || g.w < 1 || g.x + g.w > 24 || g.h < 1 || g.y < 0) problems.push(`panel "${p.title}" gridPos out of the 24-column grid`);
    if (!p.title) problems.push(`panel ${p.id} has no title`);
    if (p.type === 'row') continue;
    if (!p.description) problems.push(`panel "${p.title}" has no description`);
    if (!p.datasource || p.datasource.uid !== '${datasource}') problems.push(`panel "${p.title}" does not use the $datasource variable`);
    if (!Array.isArray(p.targets) || p.targets.length === 0) problems.push(`panel "${p.title}" has no query`);
    const refs = new Set();
    for (const t of p.targets ?? []) {
      if (!t.expr) problems.push(`panel "${p.title}" target ${t.refId} has no expr`);
      if (refs.has(t.refId)) problems.push(`panel "${p.title}" refId ${t.refId} twice`);
      refs.add(t.refId);
      if (!t.datasource || t.datasource.uid !== '${datasource}') problems.push(`panel "${p.title}" target ${t.refId} does not use $datasource`);
    }
  }
  // panels must not overlap
  const cells = new Map();
  for (const p of all) {
    const g = p.gridPos; if (!g) continue;
    for (let x = g.x; x < g.x + g.w; x++) for (let y = g.y; y < g.y + g.h; y++) {
      const k = `${x},${y}`;
      if (cells.has(k)) { problems.push(`panels "${cells.get(k)}" and "${p.title}" overlap`); x = 99; break; }
      cells.set(k, p.title);
    }
  }
  // the seed's rows, in order
  const wanted = ['Overview', 'Refresh performance', 'Staleness', 'CDC health', 'Stream table: $stream_table'];
  const got = rows.map(r => r.title);
  if (JSON.stringify(got) !== JSON.stringify(wanted)) problems.push(`rows are ${JSON.stringify(got)}, expected ${JSON.stringify(wanted)}`);
  // every $var used is defined; every defined variable is used
  const used = new Set();
  const scan = s => { for (const m of String(s).matchAll(/\$\{?(\w+)/g)) used.add(m[1]); };
  for (const p of all) { scan(p.title); for (const t of p.targets ?? []) { scan(t.expr); scan(t.legendFormat ?? ''); } scan(JSON.stringify(p.datasource ?? '')); }
  for (const v of vars.values()) { scan(v.definition ?? ''); scan(typeof v.query === 'string' ? v.query : v.query?.query ?? ''); }
  for (const u of used) if (!vars.has(u) && !builtins.has(u)) problems.push(`variable $${u} is used but not defined`);
  for (const v of vars.keys()) if (!used.has(v)) problems.push(`variable $${v} is defined but not used`);
  if (!vars.has('stream_table')) problems.push('no $stream_table variable');
  // every panel after the last row's heading filters by $stream_table
  const lastRow = rows[rows.length - 1];
  for (const p of all) if (p.type !== 'row' && lastRow && p.gridPos && p.gridPos.y > lastRow.gridPos.y)
    for (const t of p.targets ?? []) if (!/pgt_name="\$stream_table"/.test(t.expr)) problems.push(`per-table panel "${p.title}" does not select $stream_table`);
  if (dash.uid !== 'pgtrickle-overview') problems.push('uid changed (provisioning and links use pgtrickle-overview)');
  report('monitoring-dashboard-structure', problems);
}

// --- 3. queries for Prometheus ----------------------------------------------------
if (queriesOut) {
  const subst = s => s.replace(/\$__rate_interval|\$__interval|\$__range/g, '1m')
    .replace(/\$\{?instance\}?/g, '.*').replace(/\$\{?schema\}?/g, '.*')
    .replace(/\$\{?stream_table\}?/g, process.env.PGT_STREAM_TABLE ?? 'fresh_st');
  const out = [];
  for (const p of all) for (const t of p.targets ?? []) out.push(JSON.stringify({ panel: p.title, refId: t.refId, expr: subst(t.expr) }));
  for (const v of vars.values()) if (v.type === 'query') {
    const q = typeof v.query === 'string' ? v.query : v.query.query;
    const m = /^label_values\((.*),\s*(\w+)\)$/.exec(q);
    if (m) out.push(JSON.stringify({ panel: `variable ${v.name}`, refId: 'var', expr: subst(m[1]), label: m[2] }));
    else { failed++; console.log(`FAILED monitoring-dashboard-variables: ${v.name} is not label_values(selector, label)`); }
  }
  writeFileSync(queriesOut, out.join('\n') + '\n');
}
process.exit(failed ? 1 : 0);
