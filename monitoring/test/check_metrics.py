#!/usr/bin/env python3
"""Checks of the live monitoring stack, called by run_tests.sh (stdlib only).

  check_metrics.py exporter URL README DB_DSN EXPECT_JSON
      scrape postgres_exporter's /metrics once, between two snapshots of
      pgtrickle.pg_stat_stream_tables / check_cdc_health() / quick_health
      taken with psql, and check every pgtrickle series against them and
      against EXPECT_JSON (the states run_tests.sh put the tables in)
  check_metrics.py same-series URL_A URL_B
      the pgtrickle_* series (names and labels, not values) of two
      exporters are the same
  check_metrics.py get URL / promql URL EXPR
      helpers for run_tests.sh (fetch a page; is a query's result non-empty)
  check_metrics.py prometheus URL QUERIES_JSONL
      evaluate every dashboard query through /api/v1/query
  check_metrics.py rules URL
      every rule Prometheus loaded is healthy and was evaluated
  check_metrics.py alerts URL EXPECT_JSON
      the expected alerts fire, the others do not (polls, with a deadline)

Prints "ok NAME" / "FAILED NAME: why" lines; exit status 1 when one failed.
"""
import json
import math
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

failed = 0


def report(name, problems):
    global failed
    if problems:
        failed += 1
        shown = '; '.join(problems[:12]) + (f'; ... {len(problems) - 12} more' if len(problems) > 12 else '')
        print(f'FAILED {name}: {shown}', flush=True)
    else:
        print(f'ok {name}', flush=True)


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


# --- Prometheus text format -----------------------------------------------------

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*')


def parse_metrics(text):
    """{name: {'type': str, 'help': str, 'samples': [(labels dict, float)]}}"""
    out = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith('# TYPE '):
            _, _, name, typ = line.split(' ', 3)
            out.setdefault(name, {'samples': []})['type'] = typ
            continue
        if line.startswith('# HELP '):
            parts = line.split(' ', 3)
            out.setdefault(parts[2], {'samples': []})['help'] = parts[3] if len(parts) > 3 else ''
            continue
        if line.startswith('#'):
            continue
        m = LINE.match(line)
        if not m:
            raise ValueError(f'unparsable line: {line!r}')
        labels = {}
        if m.group(3):
            pos = 0
            body = m.group(3)
            while pos < len(body):
                lm = LABEL.match(body, pos)
                if not lm:
                    raise ValueError(f'unparsable labels: {line!r}')
                labels[lm.group(1)] = lm.group(2)
                pos = lm.end()
        out.setdefault(m.group(1), {'samples': []})['samples'].append((labels, float(m.group(4))))
    return out


def psql_json(dsn, sql):
    r = subprocess.run(['psql', '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', dsn, '-c', sql],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


SNAPSHOT = """
SELECT json_build_object(
  'now', extract(epoch FROM clock_timestamp()),
  'tables', (SELECT json_agg(json_build_object(
      'schema', pgt_schema, 'pgt_name', pgt_name, 'status', status,
      'stale', stale, 'consecutive_errors', consecutive_errors, 'is_populated', is_populated,
      'refreshes_total', total_refreshes, 'refreshes_successful_total', successful_refreshes,
      'refreshes_failed_total', failed_refreshes, 'rows_inserted_total', total_rows_inserted,
      'rows_deleted_total', total_rows_deleted, 'avg_duration_ms', avg_duration_ms,
      'data_timestamp', extract(epoch FROM data_timestamp),
      'refresh_mode', refresh_mode, 'schedule', schedule, 'effective_schedule', effective_schedule))
    FROM pgtrickle.pg_stat_stream_tables),
  'cdc', (SELECT json_agg(json_build_object(
      'schema', pgt_schema, 'pgt_name', pgt_name, 'source_schema', source_schema,
      'source_table', source_table, 'cdc_mode', cdc_mode, 'healthy', healthy, 'alert', alert,
      'buffer_rows', buffer_rows, 'buffer_bytes', buffer_bytes, 'lag_bytes', lag_bytes))
    FROM pgtrickle.check_cdc_health()),
  'health', (SELECT row_to_json(h) FROM pgtrickle.quick_health h),
  'in_recovery', pg_is_in_recovery())
"""

COUNTERS = ['refreshes_total', 'refreshes_successful_total', 'refreshes_failed_total',
            'rows_inserted_total', 'rows_deleted_total']
STATUSES = ['INITIALIZING', 'ACTIVE', 'PAUSED', 'SUSPENDED', 'ERROR']


def documented_metrics(readme):
    """Metric names in the README's metric reference tables (`pgtrickle_...` in
    the first column of a table row)."""
    names = set()
    in_ref = False
    for line in open(readme, encoding='utf-8'):
        if line.startswith('## '):
            in_ref = line.strip().lower() == '## metric reference'
        if in_ref:
            m = re.match(r'^\|\s*`(pgtrickle_[a-z0-9_]+)`', line)
            if m:
                names.add(m.group(1))
    return names


def check_exporter(url, readme, dsn, expect):
    before = psql_json(dsn, SNAPSHOT)
    text = http_get(url)
    after = psql_json(dsn, SNAPSHOT)
    metrics = parse_metrics(text)

    def series(name, **want):
        return [(l, v) for l, v in metrics.get(name, {}).get('samples', [])
                if all(l.get(k) == w for k, w in want.items())]

    def one(problems, name, **want):
        s = series(name, **want)
        if len(s) != 1:
            problems.append(f'{name}{want}: {len(s)} series, expected 1')
            return None
        return s[0][1]

    # exporter health
    p = []
    for name, want in (('pg_up', 1), ('pg_exporter_last_scrape_error', 0)):
        s = metrics.get(name, {}).get('samples', [])
        if [v for _, v in s] != [want]:
            p.append(f'{name} is {[v for _, v in s]}, expected {want}')
    s = metrics.get('pg_exporter_user_queries_load_error', {}).get('samples', [])
    if not s or any(v != 0 for _, v in s):
        p.append(f'pg_exporter_user_queries_load_error is {s}, expected one series 0')
    report('monitoring-exporter-no-scrape-error', p)

    # types, help, NaN, labels
    p = []
    ours = {n: m for n, m in metrics.items() if n.startswith('pgtrickle_')}
    for n, m in ours.items():
        want = 'counter' if n.endswith('_total') else 'gauge'
        if m.get('type') != want:
            p.append(f'{n} has TYPE {m.get("type")}, expected {want}')
        if not m.get('help'):
            p.append(f'{n} has no HELP')
        for labels, v in m['samples']:
            if math.isnan(v):
                p.append(f'{n}{labels} is NaN')
            if n.startswith('pgtrickle_quick_health_') or n == 'pgtrickle_server_in_recovery':
                continue
            if not labels.get('schema') or not labels.get('pgt_name'):
                p.append(f'{n}{labels} lacks schema/pgt_name')
    report('monitoring-exporter-types-and-labels', p)

    # documented = exported
    doc = documented_metrics(readme)
    p = [f'{n} is exported but not in the README metric reference' for n in sorted(set(ours) - doc)]
    # metrics documented as absent for now (e.g. lag of WAL capture) must be absent
    absent = set(expect.get('absent', []))
    p += [f'{n} is in the README metric reference but not exported' for n in sorted(doc - set(ours) - absent)]
    p += [f'{n} is exported although the scenario has no value for it' for n in sorted(absent & set(ours))]
    p += [f'{n} is expected absent but not documented' for n in sorted(absent - doc)]
    report('monitoring-readme-metric-reference', p)

    # per table: values between the two snapshots
    p = []
    b_tables = {(t['schema'], t['pgt_name']): t for t in before['tables'] or []}
    a_tables = {(t['schema'], t['pgt_name']): t for t in after['tables'] or []}
    if set(b_tables) != set(a_tables):
        p.append('the stream tables changed during the scrape')
    for key, b in sorted(b_tables.items()):
        a = a_tables.get(key, b)
        lab = {'schema': key[0], 'pgt_name': key[1]}
        where = f'{key[0]}.{key[1]}'
        for c in COUNTERS:
            v = one(p, f'pgtrickle_{c}', **lab)
            if v is not None and not (float(b[c]) <= v <= float(a[c])):
                p.append(f'{where}: pgtrickle_{c} {v} not in [{b[c]}, {a[c]}] of pg_stat_stream_tables')
        for c, src in (('consecutive_errors', 'consecutive_errors'),):
            v = one(p, f'pgtrickle_{c}', **lab)
            if v is not None and v not in (b[src], a[src]):
                p.append(f'{where}: pgtrickle_{c} {v}, view says {b[src]}/{a[src]}')
        for c in ('stale', 'is_populated'):
            v = one(p, f'pgtrickle_{c}', **lab)
            if v is not None and v not in (int(b[c]), int(a[c])):
                p.append(f'{where}: pgtrickle_{c} {v}, view says {b[c]}/{a[c]}')
        # state set: one series per status, 1 on the current one
        got = {l['status']: v for l, v in series('pgtrickle_stream_table_status', **lab)}
        if sorted(got) != sorted(STATUSES):
            p.append(f'{where}: pgtrickle_stream_table_status has statuses {sorted(got)}')
        elif [s for s, v in got.items() if v == 1] not in ([b['status']], [a['status']]) or sum(got.values()) != 1:
            p.append(f'{where}: pgtrickle_stream_table_status {got}, view says {b["status"]}')
        # NULL-able values: absent when NULL
        for name, col, conv in (('pgtrickle_staleness_seconds', 'data_timestamp', None),
                                ('pgtrickle_data_timestamp_seconds', 'data_timestamp', None),
                                ('pgtrickle_avg_refresh_duration_ms', 'avg_duration_ms', None)):
            s = series(name, **lab)
            if b[col] is None and a[col] is None:
                if s:
                    p.append(f'{where}: {name} is {s[0][1]} although the view has NULL')
            elif b[col] is not None and a[col] is not None and len(s) != 1:
                p.append(f'{where}: {name} missing although the view has a value')
        s = series('pgtrickle_data_timestamp_seconds', **lab)
        if s and b['data_timestamp'] is not None and a['data_timestamp'] is not None:
            if not (float(b['data_timestamp']) - 0.001 <= s[0][1] <= float(a['data_timestamp']) + 0.001):
                p.append(f'{where}: data_timestamp_seconds {s[0][1]} not in [{b["data_timestamp"]}, {a["data_timestamp"]}]')
        s = series('pgtrickle_staleness_seconds', **lab)
        if s and b['data_timestamp'] is not None and b['data_timestamp'] == a['data_timestamp']:
            lo, hi = float(before['now']) - float(b['data_timestamp']), float(after['now']) - float(b['data_timestamp'])
            if not (lo - 0.01 <= s[0][1] <= hi + 0.01):
                p.append(f'{where}: staleness_seconds {s[0][1]} not in [{lo:.3f}, {hi:.3f}]')
        s = series('pgtrickle_avg_refresh_duration_ms', **lab)
        if s and b['avg_duration_ms'] is not None and b['avg_duration_ms'] == a['avg_duration_ms']:
            if abs(s[0][1] - float(b['avg_duration_ms'])) > 1e-6 * max(1, abs(s[0][1])):
                p.append(f'{where}: avg_refresh_duration_ms {s[0][1]}, view says {b["avg_duration_ms"]}')
        info = series('pgtrickle_stream_table_info', **lab)
        if len(info) != 1 or info[0][1] != 1 or info[0][0].get('refresh_mode') != b['refresh_mode'] \
                or info[0][0].get('schedule') != (b['schedule'] or 'calculated') \
                or info[0][0].get('effective_schedule') != b['effective_schedule']:
            p.append(f'{where}: pgtrickle_stream_table_info {info}')
    # no series for tables that do not exist
    for name in ('pgtrickle_refreshes_total', 'pgtrickle_stale', 'pgtrickle_staleness_seconds'):
        for l, _ in series(name):
            if (l['schema'], l['pgt_name']) not in b_tables:
                p.append(f'{name} for unknown table {l}')
    report('monitoring-exporter-stream-table-values', p)

    # expected states of the scenario
    p = []
    for key, want in expect.get('tables', {}).items():
        schema, name = key.split('.', 1)
        lab = {'schema': schema, 'pgt_name': name}
        if 'status' in want:
            for st in STATUSES:
                v = one(p, 'pgtrickle_stream_table_status', status=st, **lab)
                if v is not None and v != (1 if st == want['status'] else 0):
                    p.append(f'{key}: status {st} is {v}, expected {want["status"]}')
        for m in ('stale', 'is_populated', 'consecutive_errors'):
            if m in want:
                v = one(p, f'pgtrickle_{m}', **lab)
                if v is not None and v != want[m]:
                    p.append(f'{key}: pgtrickle_{m} {v}, expected {want[m]}')
        if want.get('staleness') == 'absent':
            for m in ('pgtrickle_staleness_seconds', 'pgtrickle_data_timestamp_seconds'):
                if series(m, **lab):
                    p.append(f'{key}: {m} present for a table never refreshed')
        if 'staleness_above' in want:
            v = one(p, 'pgtrickle_staleness_seconds', **lab)
            if v is not None and not v > want['staleness_above']:
                p.append(f'{key}: staleness {v} not above {want["staleness_above"]}')
        if 'min_failed' in want:
            v = one(p, 'pgtrickle_refreshes_failed_total', **lab)
            if v is not None and v < want['min_failed']:
                p.append(f'{key}: refreshes_failed_total {v} < {want["min_failed"]}')
    report('monitoring-exporter-scenario-states', p)

    # check_cdc_health
    p = []
    bc = {(c['schema'], c['pgt_name'], c['source_schema'], c['source_table']): c for c in before['cdc'] or []}
    ac = {(c['schema'], c['pgt_name'], c['source_schema'], c['source_table']): c for c in after['cdc'] or []}
    for key, b in sorted(bc.items()):
        a = ac.get(key, b)
        lab = dict(zip(('schema', 'pgt_name', 'source_schema', 'source_table'), key))
        where = '{}.{} <- {}.{}'.format(*key)
        v = one(p, 'pgtrickle_cdc_mode', cdc_mode=b['cdc_mode'], **lab)
        if v is not None and v != 1:
            p.append(f'{where}: pgtrickle_cdc_mode {v}')
        for name, val in (('pgtrickle_cdc_healthy', lambda c: int(c['healthy'])),
                          ('pgtrickle_cdc_alert', lambda c: int(c['alert'] is not None)),
                          ('pgtrickle_cdc_alert_warning', lambda c: int(c['alert'] == 'warning')),
                          ('pgtrickle_cdc_alert_critical', lambda c: int(c['alert'] == 'critical'))):
            v = one(p, name, **lab)
            if v is not None and v not in (val(b), val(a)):
                p.append(f'{where}: {name} {v}, check_cdc_health() says {val(b)}')
        for name, col in (('pgtrickle_cdc_buffer_rows', 'buffer_rows'), ('pgtrickle_cdc_buffer_bytes', 'buffer_bytes'),
                          ('pgtrickle_cdc_lag_bytes', 'lag_bytes')):
            s = series(name, **lab)
            if b[col] is None and a[col] is None:
                if s:
                    p.append(f'{where}: {name} present although check_cdc_health() has NULL')
            elif b[col] is not None and a[col] is not None:
                if len(s) != 1:
                    p.append(f'{where}: {name} missing')
                elif not (min(b[col], a[col]) <= s[0][1] <= max(b[col], a[col])):
                    p.append(f'{where}: {name} {s[0][1]}, check_cdc_health() says {b[col]}/{a[col]}')
    if len(series('pgtrickle_cdc_healthy')) != len(bc):
        p.append(f'{len(series("pgtrickle_cdc_healthy"))} pgtrickle_cdc_healthy series for {len(bc)} sources')
    for key, want in expect.get('cdc', {}).items():
        schema, name = key.split('.', 1)
        s = series('pgtrickle_cdc_alert_' + want['alert'], schema=schema, pgt_name=name)
        if [v for _, v in s] != [1]:
            p.append(f'{key}: pgtrickle_cdc_alert_{want["alert"]} is {s}, expected 1')
        if 'min_buffer_rows' in want:
            s = series('pgtrickle_cdc_buffer_rows', schema=schema, pgt_name=name)
            if len(s) != 1 or s[0][1] < want['min_buffer_rows']:
                p.append(f'{key}: pgtrickle_cdc_buffer_rows {s}, expected >= {want["min_buffer_rows"]}')
    report('monitoring-exporter-cdc-values', p)

    # quick_health
    p = []
    hb, ha = before['health'], after['health']
    for m, col in (('stream_tables', 'total_stream_tables'), ('error_tables', 'error_tables'),
                   ('stale_tables', 'stale_tables'), ('paused_tables', 'paused_tables'),
                   ('scheduler_running', 'scheduler_running')):
        v = one(p, f'pgtrickle_quick_health_{m}')
        if v is not None and v not in (int(hb[col]), int(ha[col])):
            p.append(f'pgtrickle_quick_health_{m} {v}, quick_health says {hb[col]}')
    got = {l['status']: v for l, v in series('pgtrickle_quick_health_status')}
    if sorted(got) != sorted(['EMPTY', 'OK', 'WARNING', 'CRITICAL']) or \
            [s for s, v in got.items() if v == 1] not in ([hb['status']], [ha['status']]):
        p.append(f'pgtrickle_quick_health_status {got}, quick_health says {hb["status"]}')
    for m, want in expect.get('health', {}).items():
        if m == 'status':
            if got.get(want) != 1:
                p.append(f'quick_health status {got}, expected {want}')
        else:
            v = one(p, f'pgtrickle_quick_health_{m}')
            if v is not None and v != want:
                p.append(f'pgtrickle_quick_health_{m} {v}, expected {want}')
    v = one(p, 'pgtrickle_server_in_recovery')
    if v is not None and v != int(before['in_recovery']):
        p.append(f'pgtrickle_server_in_recovery {v}')
    report('monitoring-exporter-quick-health', p)


def pgtrickle_series(url):
    metrics = parse_metrics(http_get(url))
    return {(n, tuple(sorted((k, v) for k, v in l.items() if k != 'server')))
            for n, m in metrics.items() if n.startswith('pgtrickle_') for l, _ in m['samples']}, metrics


def check_same_series(name, url_a, url_b):
    a, ma = pgtrickle_series(url_a)
    b, mb = pgtrickle_series(url_b)
    p = []
    if not a:
        p.append(f'no pgtrickle series at {url_a}')
    p += [f'only at the first: {x}' for x in sorted(a - b)][:5]
    p += [f'only at the second: {x}' for x in sorted(b - a)][:5]
    for m in (ma, mb):
        if [v for _, v in m.get('pg_exporter_last_scrape_error', {}).get('samples', [])] != [0]:
            p.append('pg_exporter_last_scrape_error is not 0')
    report(name, p)


def prom_query(url, expr):
    q = urllib.parse.urlencode({'query': expr})
    try:
        body = json.loads(http_get(f'{url}/api/v1/query?{q}'))
    except urllib.error.HTTPError as e:
        body = json.loads(e.read().decode())
    return body


def check_prometheus_queries(url, queries_file, expected_empty):
    p = []
    n = 0
    for line in open(queries_file, encoding='utf-8'):
        if not line.strip():
            continue
        q = json.loads(line)
        n += 1
        body = prom_query(url, q['expr'])
        where = f'{q["panel"]}/{q["refId"]}'
        if body.get('status') != 'success':
            p.append(f'{where}: {body.get("errorType")}: {body.get("error")}')
            continue
        if body.get('warnings'):
            p.append(f'{where}: warnings {body["warnings"]}')
        result = body['data']['result']
        empty = body['data']['resultType'] == 'vector' and not result
        if empty and not any(re.search(e, q['expr']) for e in expected_empty):
            p.append(f'{where}: no data for {q["expr"]}')
        if not empty and any(re.search(e, q['expr']) for e in expected_empty):
            p.append(f'{where}: data where none was expected: {q["expr"]}')
        if 'label' in q and not all(q['label'] in r['metric'] for r in result):
            p.append(f'{where}: label {q["label"]} missing')
    if n < 10:
        p.append(f'only {n} queries')
    report('monitoring-prometheus-dashboard-queries', p)


def check_rules(url, deadline):
    p = ['not checked']
    while time.time() < deadline:
        body = json.loads(http_get(f'{url}/api/v1/rules'))
        rules = [r for g in body['data']['groups'] for r in g['rules']]
        p = []
        if len(rules) < 11:
            p.append(f'{len(rules)} rules loaded')
        for r in rules:
            if r.get('health') != 'ok':
                p.append(f'{r["name"]}: health {r.get("health")} {r.get("lastError", "")}')
        if not p:
            break
        time.sleep(1)
    report('monitoring-prometheus-rules-healthy', p)


def check_alerts(url, expect, deadline):
    want = {tuple(a) for a in expect['firing']}
    problems = ['not checked']
    while time.time() < deadline:
        body = json.loads(http_get(f'{url}/api/v1/alerts'))
        firing = {(a['labels']['alertname'], a['labels'].get('schema', ''), a['labels'].get('pgt_name', ''))
                  for a in body['data']['alerts']
                  if a['state'] == 'firing' and a['labels'].get('rules_copy') == 'live'}
        problems = [f'{w} does not fire' for w in sorted(want - firing)]
        problems += [f'{f} fires' for f in sorted(firing - want)]
        if not problems:
            break
        time.sleep(1)
    report('monitoring-prometheus-alerts-fire', problems)


def main():
    cmd = sys.argv[1]
    if cmd == 'get':  # print the body of URL; fails only when nothing answers
        try:
            print(http_get(sys.argv[2], timeout=5))
        except urllib.error.HTTPError as e:
            print(e.read().decode())
        except OSError as e:
            sys.exit(str(e))
        return
    if cmd == 'promql':  # true when EXPR has a non-empty result at Prometheus URL
        body = prom_query(sys.argv[2], sys.argv[3])
        sys.exit(0 if body.get('status') == 'success' and body['data']['result'] else 1)
    if cmd == 'exporter':
        check_exporter(sys.argv[2], sys.argv[3], sys.argv[4], json.load(open(sys.argv[5])))
    elif cmd == 'same-series':
        check_same_series(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == 'prometheus':
        check_prometheus_queries(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif cmd == 'rules':
        check_rules(sys.argv[2], time.time() + float(sys.argv[3]))
    elif cmd == 'alerts':
        check_alerts(sys.argv[2], json.load(open(sys.argv[3])), time.time() + float(sys.argv[4]))
    else:
        sys.exit(f'unknown command {cmd}')
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
