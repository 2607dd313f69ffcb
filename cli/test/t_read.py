"""The read-only commands in every format, compared with the database:
list, status, history, explain, stats (health is in t_health)."""

import re

import contract as C
import fixtures as F
from common import (check_csv_header, check_keys, csv_matches_json, csv_value, expect_error,
                    header_columns, row_cells, same_number, same_ts, tool_csv, tool_json)
from harness import check, eq, qlit, run, sql_exec, sql_rows, test

DB = "pgt_read"
_ready = []

# name -> (query, schedule, mode, initialize)
TABLES = {
    "rd_totals": (F.Q_TOTALS, "1h", None, True),
    "rd_north": (F.Q_NORTH, "30m", "FULL", True),
    "rd_calc": (F.Q_SOUTH, "calculated", None, True),
    "rd_paused": ("SELECT id, amount FROM orders WHERE amount > 50", "2h", None, True),
    "rd_noinit": ("SELECT id FROM orders WHERE id < 10", "1d", None, False),
    "rd_dep": ("SELECT customer, count(*) AS n FROM rd_north GROUP BY customer", "45m", None, True),
    # gives rd_calc (CALCULATED) an effective schedule of 1h, so that no
    # table of this database turns stale while the tests compare
    "rd_calc_reader": ("SELECT count(*) AS n FROM rd_calc", "1h", None, True),
    # over a thousand rows: numbers with thousands separators in tables
    "rd_big": ("SELECT o.id, d.id AS did FROM orders o CROSS JOIN divisors d WHERE d.id <= 5",
               "1h", None, True),
}


def db():
    """The read tests' database: six stream tables in various states, two
    of them refreshed after changes so they have history."""
    if not _ready:
        F.database(DB)
        for name, (q, sched, mode, init) in TABLES.items():
            F.create_st(DB, name, q, schedule=sched, mode=mode, initialize=init)
        sql_exec(DB, """
            SELECT pgtrickle.pause_stream_table('rd_paused');
            INSERT INTO orders VALUES (1001, 'c1', 10.50, 'north'), (1002, 'c9', 20.00, 'south');
            DELETE FROM orders WHERE id IN (3, 4);
            UPDATE orders SET amount = amount + 1 WHERE id BETWEEN 10 AND 20;
            SELECT pgtrickle.refresh_stream_table('rd_totals');
            SELECT pgtrickle.refresh_stream_table('rd_north');
            INSERT INTO orders VALUES (1003, 'c2', 5.00, 'north');
            SELECT pgtrickle.refresh_stream_table('rd_totals');
        """)
        _ready.append(True)
    return DB


def stat_by_name(d):
    rows = sql_rows(d, "SELECT *, extract(epoch FROM staleness)::float8 AS staleness_seconds "
                       "FROM pgtrickle.pg_stat_stream_tables ORDER BY pgt_schema, pgt_name")
    return rows


# --- list -------------------------------------------------------------------------

LIST_FROM_DB = {"name": "pgt_name", "schema": "pgt_schema", "status": "status",
                "refresh_mode": "refresh_mode", "schedule": "schedule",
                "effective_schedule": "effective_schedule", "is_populated": "is_populated",
                "stale": "stale", "consecutive_errors": "consecutive_errors"}


def compare_list_rows(objs, dbrows, what, details=None):
    """The tool's list objects equal the rows of pg_stat_stream_tables (same
    order: schema, then name)."""
    eq([(o.get("schema"), o.get("name")) for o in objs],
       [(r["pgt_schema"], r["pgt_name"]) for r in dbrows], f"{what}: (schema, name) of the rows",
       details)
    for o, r in zip(objs, dbrows):
        check_keys(o, C.LIST_KEYS, f"{what}: {r['pgt_name']}", details)
        for k, col in LIST_FROM_DB.items():
            eq(o[k], r[col], f"{what}: {r['pgt_name']}.{k}", details)
        same_ts(o["data_timestamp"], r["data_timestamp"], f"{what}: {r['pgt_name']}.data_timestamp",
                details)
        same_ts(o["last_refresh_at"], r["last_refresh_at"], f"{what}: {r['pgt_name']}.last_refresh_at",
                details)
        if r["staleness_seconds"] is None:
            eq(o["staleness_seconds"], None, f"{what}: {r['pgt_name']}.staleness_seconds", details)
        else:
            # measured a moment apart: equal within a minute
            check(o["staleness_seconds"] is not None
                  and abs(o["staleness_seconds"] - r["staleness_seconds"]) < 60,
                  f"{what}: {r['pgt_name']}.staleness_seconds {o['staleness_seconds']!r}, "
                  f"database {r['staleness_seconds']!r}", details)


@test("cli-list-json")
def _():
    d = db()
    doc, r = tool_json(["list"], d)
    check(isinstance(doc, list), "list --format json is not an array", r.details())
    dbrows = stat_by_name(d)
    eq(len(doc), len(TABLES), "number of stream tables listed", r.details())
    compare_list_rows(doc, dbrows, "list json", r.details())
    # the states the fixture made are visible (a wrong mapping cannot pass)
    by = {o["name"]: o for o in doc}
    eq(by["rd_paused"]["status"], "PAUSED", "rd_paused status", r.details())
    eq(by["rd_noinit"]["status"], "INITIALIZING", "rd_noinit status", r.details())
    eq(by["rd_noinit"]["is_populated"], False, "rd_noinit is_populated", r.details())
    eq(by["rd_noinit"]["last_refresh_at"], None, "rd_noinit last_refresh_at", r.details())
    eq(by["rd_north"]["refresh_mode"], "FULL", "rd_north refresh_mode", r.details())
    eq(by["rd_calc"]["schedule"], None, "rd_calc schedule (CALCULATED is null)", r.details())
    eq(by["rd_totals"]["schedule"], "1h", "rd_totals schedule", r.details())


@test("cli-list-csv")
def _():
    d = db()
    header, rows, r = tool_csv(["list"], d)
    check_csv_header(header, C.LIST_KEYS, "list", r.details())
    doc, _ = tool_json(["list"], d)
    csv_matches_json(rows, doc, C.LIST_KEYS, "list csv", r.details(), skip=("staleness_seconds",))
    by = {row["name"]: row for row in rows}
    eq(by["rd_calc"]["schedule"], "", "rd_calc schedule (NULL is an empty field)", r.details())
    eq(by["rd_noinit"]["is_populated"], "false", "rd_noinit is_populated", r.details())


@test("cli-list-table")
def _():
    d = db()
    r = run(["list"], db=d).ok()
    lines = r.out.splitlines()
    check(lines, "list printed nothing", r.details())
    header_columns(lines[0], C.LIST_TABLE_HEADERS, "list table", r.details())
    check("\x1b" not in r.out, "escape codes in piped output", r.details())
    dbrows = {x["pgt_name"]: x for x in stat_by_name(d)}
    for name, row in dbrows.items():
        line = row_cells(r.out, name)
        check(line is not None, f"no table row for {name}", r.details())
        cells = line.split()
        check(row["pgt_schema"] in cells, f"{name}: schema missing in {line!r}", r.details())
        check(row["status"] in cells, f"{name}: status {row['status']} missing in {line!r}", r.details())
        check(row["refresh_mode"] in cells, f"{name}: mode missing in {line!r}", r.details())
        sched = row["schedule"] if row["schedule"] is not None else "calculated"
        check(sched in cells, f"{name}: schedule {sched} missing in {line!r}", r.details())
        # NAME SCHEMA STATUS MODE SCHEDULE STALE ERRORS (no spaces in these values here)
        stale = {True: "yes", False: "no", None: "-"}[row["stale"]]
        eq(cells[:7], [name, row["pgt_schema"], row["status"], row["refresh_mode"], sched, stale,
                       str(row["consecutive_errors"])], f"{name}: the first seven cells", r.details())
        if row["last_refresh_at"] is None:
            check(line.rstrip().endswith("never"), f"{name}: LAST REFRESH is not 'never': {line!r}",
                  r.details())
        else:
            check(C.RELATIVE_RE.search(line), f"{name}: LAST REFRESH is not relative ('Ns ago'): {line!r}",
                  r.details())
    eq(len([ln for ln in lines[1:] if ln.strip()]), len(TABLES), "number of table rows", r.details())


def display_width(text):
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1
               for ch in text)


@test("cli-list-aligned")
def _():
    # columns line up, also with names of other lengths and non-ASCII letters
    d = F.database("pgt_align")
    for name in ("a", "größenänderung_über", "mittel_名前", "z" * 40):
        F.create_st(d, f'"{name}"', F.Q_NORTH)
    for args, headers in ((["list"], C.LIST_TABLE_HEADERS), (["stats"], C.STATS_TABLE_HEADERS)):
        r = run(args, db=d).ok()
        lines = [ln for ln in r.out.splitlines() if ln.strip()]
        col = display_width(lines[0][:lines[0].index("SCHEMA")])
        for ln in lines[1:]:
            if ln.split()[0] == "TOTAL":
                continue
            i = ln.index(" public ")
            eq(display_width(ln[:i + 1]), col, f"{args[0]}: SCHEMA column of {ln!r}", r.details())
    doc, r = tool_json(["list"], d)
    eq([o["name"] for o in doc], [x["pgt_name"] for x in stat_by_name(d)], "names in list --format json",
       r.details())
    check("größenänderung_über" in [o["name"] for o in doc], "the non-ASCII name in JSON", r.details())


@test("cli-list-empty")
def _():
    d = F.database("pgt_empty")
    doc, r = tool_json(["list"], d)
    eq(doc, [], "list --format json with no stream tables", r.details())
    header, rows, r = tool_csv(["list"], d)
    check_csv_header(header, C.LIST_KEYS, "list (empty)", r.details())
    eq(rows, [], "CSV rows with no stream tables", r.details())
    r = run(["list"], db=d).ok()
    lines = [ln for ln in r.out.splitlines() if ln.strip()]
    eq(len(lines), 1, "table lines with no stream tables (only the header)", r.details())
    header_columns(lines[0], C.LIST_TABLE_HEADERS, "list table (empty)", r.details())


# --- status -----------------------------------------------------------------------------

def status_db(d, name):
    info = sql_rows(d, f"""
        SELECT i.*, s.total_refreshes, s.successful_refreshes, s.failed_refreshes,
               s.total_rows_inserted, s.total_rows_deleted, s.avg_duration_ms,
               extract(epoch FROM i.staleness)::float8 AS staleness_seconds
        FROM pgtrickle.stream_tables_info i
        JOIN pgtrickle.pg_stat_stream_tables s USING (pgt_id)
        WHERE i.pgt_relid = to_regclass({qlit(name)})""")
    check(len(info) == 1, f"no catalog row for {name}")
    sources = sql_rows(d, f"""
        SELECT n.nspname AS schema, c.relname AS name, dep.source_type, dep.cdc_mode
        FROM pgtrickle.pgt_dependencies dep
        JOIN pgtrickle.pgt_stream_tables st USING (pgt_id)
        JOIN pg_class c ON c.oid = dep.source_relid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE st.pgt_relid = to_regclass({qlit(name)})""")
    return info[0], sources


STATUS_FROM_DB = {"name": "pgt_name", "schema": "pgt_schema", "status": "status",
                  "refresh_mode": "refresh_mode", "requested_refresh_mode": "requested_refresh_mode",
                  "schedule": "schedule", "effective_schedule": "effective_schedule",
                  "cdc_mode": "cdc_mode", "is_populated": "is_populated", "stale": "stale",
                  "consecutive_errors": "consecutive_errors",
                  "last_error_message": "last_error_message",
                  "total_refreshes": "total_refreshes",
                  "successful_refreshes": "successful_refreshes",
                  "failed_refreshes": "failed_refreshes",
                  "total_rows_inserted": "total_rows_inserted",
                  "total_rows_deleted": "total_rows_deleted"}


def compare_status(o, d, name, what, details):
    row, sources = status_db(d, name)
    check_keys(o, C.STATUS_KEYS, what, details)
    for k, col in STATUS_FROM_DB.items():
        eq(o[k], row[col], f"{what}: {k}", details)
    for k in ("data_timestamp", "last_refresh_at", "last_error_at", "created_at", "updated_at"):
        same_ts(o[k], row[k], f"{what}: {k}", details)
    same_number(o["avg_duration_ms"], row["avg_duration_ms"], f"{what}: avg_duration_ms", details)
    if row["staleness_seconds"] is not None:
        check(o["staleness_seconds"] is not None
              and abs(o["staleness_seconds"] - row["staleness_seconds"]) < 60,
              f"{what}: staleness_seconds {o['staleness_seconds']!r} vs {row['staleness_seconds']!r}",
              details)
    else:
        eq(o["staleness_seconds"], None, f"{what}: staleness_seconds", details)
    for s in o["sources"]:
        check_keys(s, C.STATUS_SOURCE_KEYS, f"{what}: a source", details)
    key = lambda s: (s["schema"], s["name"])  # noqa: E731
    eq(sorted(o["sources"], key=key), sorted(sources, key=key), f"{what}: sources", details)
    return row, sources


@test("cli-status-json")
def _():
    d = db()
    for name in ("rd_totals", "rd_noinit", "rd_dep", "public.rd_calc"):
        doc, r = tool_json(["status", name], d)
        row, sources = compare_status(doc, d, name, f"status {name}", r.details())
    doc, r = tool_json(["status", "rd_dep"], d)
    eq([(s["name"], s["source_type"]) for s in doc["sources"]], [("rd_north", "STREAM_TABLE")],
       "rd_dep sources", r.details())
    doc, r = tool_json(["status", "rd_totals"], d)
    check(doc["total_refreshes"] >= 3 and doc["is_populated"] is True,
          "rd_totals: three refreshes and populated", r.details())


@test("cli-status-csv")
def _():
    d = db()
    header, rows, r = tool_csv(["status", "rd_dep"], d)
    check_csv_header(header, C.STATUS_KEYS, "status", r.details())
    eq(len(rows), 1, "status CSV rows", r.details())
    doc, _ = tool_json(["status", "rd_dep"], d)
    keys = [(k, t) for k, t in C.STATUS_KEYS if k not in ("sources",)]
    csv_matches_json(rows, [doc], keys, "status csv", r.details(), skip=("staleness_seconds",))
    _, sources = status_db(d, "rd_dep")
    eq(len(sources), 1, "rd_dep has one source")
    want = ", ".join(f"{s['schema']}.{s['name']} ({s['cdc_mode']})" for s in sources)
    eq(rows[0]["sources"], want, "status csv sources field (schema.name (CDC_MODE))", r.details())


@test("cli-status-table")
def _():
    d = db()
    r = run(["status", "rd_totals"], db=d).ok()
    row, sources = status_db(d, "rd_totals")
    fields = {}
    colons = set()
    for ln in r.out.splitlines():
        m = re.match(r"^\s*([A-Za-z ]+?):(\s+)(.*?)\s*$", ln)
        if m:
            fields[m.group(1)] = m.group(3)
            colons.add(ln.index(":") + 1 + len(m.group(2)))  # where the value starts
    eq(list(fields), C.STATUS_TABLE_LABELS, "status table: the 'Key: value' lines in order", r.details())
    eq(len(colons), 1, "status table: values aligned in one column", r.details())
    eq(fields["Name"], "rd_totals", "Name", r.details())
    eq(fields["Schema"], "public", "Schema", r.details())
    eq(fields["Status"], "ACTIVE", "Status", r.details())
    eq(fields["Refresh Mode"], row["refresh_mode"], "Refresh Mode", r.details())
    eq(fields["Schedule"], "1h", "Schedule", r.details())
    eq(fields["Populated"], "yes", "Populated", r.details())
    eq(fields["Last Error"], "-", "Last Error (NULL)", r.details())
    eq(fields["Total Refreshes"], f"{row['total_refreshes']:,}", "Total Refreshes", r.details())
    eq(fields["Failed Refreshes"], f"{row['failed_refreshes']:,}", "Failed Refreshes", r.details())
    ts = C.parse_ts(row["last_refresh_at"]).strftime("%Y-%m-%d %H:%M:%S")
    check(re.fullmatch(re.escape(ts) + r" UTC \(\d+(s|m|h|d) ago\)", fields["Last Refresh"]),
          f"Last Refresh {fields['Last Refresh']!r} is not '{ts} UTC (Ns ago)'", r.details())
    eq(fields["Source Tables"], "public.orders (TRIGGER)", "Source Tables", r.details())
    dur = r"\d+s|\d+m \d+s|\d+m|\d+h \d+m|\d+h|\d+d \d+h|\d+d"
    check(re.fullmatch(dur, fields["Staleness"]), f"Staleness {fields['Staleness']!r} is not a duration ('26s', "
          "'5m 3s')", r.details())
    check(re.fullmatch(r"\d+(\.\d+)?(ms|s)", fields["Avg Duration"]),
          f"Avg Duration {fields['Avg Duration']!r} is not '0.4ms', '42ms' or '1.5s'", r.details())
    eq(fields["Stale"], {True: "yes", False: "no", None: "-"}[row["stale"]], "Stale", r.details())
    eq(fields["Effective Schedule"], row["effective_schedule"], "Effective Schedule", r.details())
    # a table never refreshed
    r = run(["status", "rd_noinit"], db=d).ok()
    check(re.search(r"^\s*Last Refresh:\s+never\s*$", r.out, re.M), "rd_noinit: Last Refresh is not 'never'",
          r.details())
    check(re.search(r"^\s*Status:\s+INITIALIZING\s*$", r.out, re.M), "rd_noinit: Status is not INITIALIZING",
          r.details())


@test("cli-status-unknown")
def _():
    d = db()
    for fmt in ("table", "json", "csv"):
        r = run(["status", "no_such_st", "--format", fmt], db=d)
        expect_error(r, C.EXIT_SERVER, 'stream table "no_such_st" does not exist')


# --- history ------------------------------------------------------------------------------

def history_db(d, name, limit=20):
    return sql_rows(d, f"SELECT * FROM pgtrickle.get_refresh_history({qlit(name)}, {int(limit)})")


def compare_history(objs, rows, what, details):
    eq([o.get("refresh_id") for o in objs], [r["refresh_id"] for r in rows],
       f"{what}: refresh ids (newest first)", details)
    for o, row in zip(objs, rows):
        check_keys(o, C.HISTORY_KEYS, f"{what}: refresh {row['refresh_id']}", details)
        for k in ("action", "status", "rows_inserted", "rows_deleted", "error_message", "initiated_by"):
            eq(o[k], row[k], f"{what}: refresh {row['refresh_id']} {k}", details)
        for k in ("data_timestamp", "start_time", "end_time"):
            same_ts(o[k], row[k], f"{what}: refresh {row['refresh_id']} {k}", details)
        same_number(o["duration_ms"], row["duration_ms"], f"{what}: refresh {row['refresh_id']} duration_ms",
                    details)


@test("cli-history-json")
def _():
    d = db()
    doc, r = tool_json(["history", "rd_totals"], d)
    check(isinstance(doc, list), "history --format json is not an array", r.details())
    rows = history_db(d, "rd_totals")
    check(len(rows) >= 3, f"rd_totals should have at least 3 history rows, has {len(rows)}")
    compare_history(doc, rows, "history json", r.details())
    eq(doc[-1]["initiated_by"], "INITIAL", "oldest refresh of rd_totals", r.details())
    eq(doc[0]["initiated_by"], "MANUAL", "newest refresh of rd_totals", r.details())
    # never refreshed: empty history
    doc, r = tool_json(["history", "rd_noinit"], d)
    eq(doc, history_db(d, "rd_noinit"), "history of rd_noinit", r.details())


@test("cli-history-limit")
def _():
    d = db()
    for n in (1, 2):
        doc, r = tool_json(["history", "rd_totals", "--limit", str(n)], d)
        rows = history_db(d, "rd_totals", n)
        eq(len(doc), n, f"rows with --limit {n}", r.details())
        compare_history(doc, rows, f"history --limit {n}", r.details())
    r = run(["history", "rd_totals", "--limit=1"], db=d).ok()
    body = [ln for ln in r.out.splitlines()[1:] if ln.strip()]
    eq(len(body), 1, "table rows with --limit=1", r.details())
    header, rows, r = tool_csv(["history", "rd_totals", "--limit", "2"], d)
    eq(len(rows), 2, "CSV rows with --limit 2", r.details())


@test("cli-history-csv")
def _():
    d = db()
    header, rows, r = tool_csv(["history", "rd_totals"], d)
    check_csv_header(header, C.HISTORY_KEYS, "history", r.details())
    doc, _ = tool_json(["history", "rd_totals"], d)
    csv_matches_json(rows, doc, C.HISTORY_KEYS, "history csv", r.details())
    dbrows = history_db(d, "rd_totals")
    eq([int(x["refresh_id"]) for x in rows], [x["refresh_id"] for x in dbrows], "CSV refresh ids",
       r.details())


@test("cli-history-table")
def _():
    d = db()
    r = run(["history", "rd_totals"], db=d).ok()
    lines = [ln for ln in r.out.splitlines() if ln.strip()]
    header_columns(lines[0], C.HISTORY_TABLE_HEADERS, "history table", r.details())
    dbrows = history_db(d, "rd_totals")
    eq(len(lines) - 1, len(dbrows), "history table rows", r.details())
    for ln, row in zip(lines[1:], dbrows):
        cells = ln.split()
        eq(cells[0], str(row["refresh_id"]), "first cell (ID)", r.details())
        check(row["action"] in cells and row["status"] in cells and row["initiated_by"] in cells,
              f"refresh {row['refresh_id']}: action/status/by missing in {ln!r}", r.details())
        check(C.RELATIVE_RE.search(ln), f"refresh {row['refresh_id']}: STARTED not relative in {ln!r}",
              r.details())
        eq(cells[-2:], ["-", row["initiated_by"]], f"refresh {row['refresh_id']}: ERROR (NULL) and BY",
           r.details())
        check(any(re.fullmatch(r"\d+(\.\d+)?(ms|s)", c) for c in cells),
              f"refresh {row['refresh_id']}: no DURATION like '0.4ms', '42ms', '1.5s' in {ln!r}", r.details())


@test("cli-history-unknown")
def _():
    d = db()
    expect_error(run(["history", "no_such_st"], db=d), C.EXIT_SERVER,
                 'stream table "no_such_st" does not exist')


# --- explain --------------------------------------------------------------------------------

def explain_db(d, name):
    return sql_rows(d, f"SELECT property, value FROM pgtrickle.explain_st({qlit(name)})")


@test("cli-explain-json")
def _():
    d = db()
    for name in ("rd_totals", "rd_north"):
        doc, r = tool_json(["explain", name], d)
        check(isinstance(doc, dict), "explain --format json is not an object", r.details())
        rows = explain_db(d, name)
        eq(list(doc.items()), [(x["property"], x["value"]) for x in rows],
           f"explain {name}: properties and values (in the server's order)", r.details())
        for k in ("refresh_mode", "requested_refresh_mode", "defining_query", "sources",
                  "differential_supported", "fallback_reason", "schedule", "effective_schedule"):
            check(k in doc, f"explain {name}: no {k}", r.details())
    eq(doc["refresh_mode"], "FULL", "explain rd_north refresh_mode", r.details())


@test("cli-explain-csv")
def _():
    d = db()
    header, rows, r = tool_csv(["explain", "rd_totals"], d)
    eq(header, ["property", "value"], "explain CSV header", r.details())
    want = [(x["property"], csv_value(x["value"])) for x in explain_db(d, "rd_totals")]
    eq([(x["property"], x["value"]) for x in rows], want, "explain CSV rows", r.details())


@test("cli-explain-table")
def _():
    d = db()
    r = run(["explain", "rd_totals"], db=d).ok()
    rows = explain_db(d, "rd_totals")
    out = r.out
    for x in rows:
        prop, value = x["property"], x["value"]
        check(re.search(rf"^{re.escape(prop)}:", out, re.M), f"no '{prop}:' line", r.details())
        if value and "\n" in value:
            for vl in value.splitlines():
                if vl.strip():
                    check(("    " + vl) in out.splitlines() or ("    " + vl.rstrip()) in
                          [ln.rstrip() for ln in out.splitlines()],
                          f"{prop}: the line {vl!r} is not shown indented by 4 spaces", r.details())
        elif value is None:
            check(re.search(rf"^{re.escape(prop)}:\s+-\s*$", out, re.M), f"{prop}: NULL not shown as '-'",
                  r.details())
        elif value:
            check(re.search(rf"^{re.escape(prop)}:\s+{re.escape(value)}\s*$", out, re.M),
                  f"{prop}: value {value!r} not on its line", r.details())


@test("cli-explain-unknown")
def _():
    d = db()
    expect_error(run(["explain", "no_such_st", "--format", "json"], db=d), C.EXIT_SERVER,
                 'stream table "no_such_st" does not exist')


# --- stats --------------------------------------------------------------------------------------

STAT_INT = ("total_refreshes", "successful_refreshes", "failed_refreshes", "total_rows_inserted",
            "total_rows_deleted")


def expected_totals(rows):
    tot = {"stream_tables": len(rows)}
    for k in STAT_INT:
        tot[k] = sum(x[k] for x in rows)
    weighted = [(x["avg_duration_ms"], x["total_refreshes"]) for x in rows
                if x["avg_duration_ms"] is not None and x["total_refreshes"]]
    n = sum(w for _, w in weighted)
    tot["avg_duration_ms"] = sum(a * w for a, w in weighted) / n if n else None
    return tot


@test("cli-stats-json")
def _():
    d = db()
    doc, r = tool_json(["stats"], d)
    check(isinstance(doc, dict) and list(doc.keys()) == ["stream_tables", "totals"],
          "stats JSON is not {\"stream_tables\": [...], \"totals\": {...}}", r.details())
    rows = stat_by_name(d)
    eq([(o.get("schema"), o.get("name")) for o in doc["stream_tables"]],
       [(x["pgt_schema"], x["pgt_name"]) for x in rows], "stats rows", r.details())
    for o, x in zip(doc["stream_tables"], rows):
        check_keys(o, C.STATS_KEYS, f"stats {x['pgt_name']}", r.details())
        for k in STAT_INT + ("last_action", "last_status"):
            eq(o[k], x[k], f"stats {x['pgt_name']}.{k}", r.details())
        same_number(o["avg_duration_ms"], x["avg_duration_ms"], f"stats {x['pgt_name']}.avg_duration_ms",
                    r.details())
    check_keys(doc["totals"], C.STATS_TOTALS_KEYS, "stats totals", r.details())
    want = expected_totals(rows)
    for k in ("stream_tables",) + STAT_INT:
        eq(doc["totals"][k], want[k], f"totals.{k} (sum over pg_stat_stream_tables)", r.details())
    check(want["total_refreshes"] >= 6, "the fixture made at least 6 refreshes", r.details())
    same_number(doc["totals"]["avg_duration_ms"], want["avg_duration_ms"],
                "totals.avg_duration_ms (weighted by total_refreshes)", r.details(), tol=1e-3)


@test("cli-stats-csv")
def _():
    d = db()
    header, rows, r = tool_csv(["stats"], d)
    check_csv_header(header, C.STATS_KEYS, "stats", r.details())
    doc, _ = tool_json(["stats"], d)
    csv_matches_json(rows, doc["stream_tables"], C.STATS_KEYS, "stats csv", r.details())


@test("cli-stats-table")
def _():
    d = db()
    r = run(["stats"], db=d).ok()
    lines = [ln for ln in r.out.splitlines() if ln.strip()]
    header_columns(lines[0], C.STATS_TABLE_HEADERS, "stats table", r.details())
    rows = stat_by_name(d)
    for x in rows:
        ln = row_cells(r.out, x["pgt_name"])
        check(ln is not None, f"no stats row for {x['pgt_name']}", r.details())
        cells = ln.split()
        eq(cells[2:5], [str(x["total_refreshes"]), str(x["successful_refreshes"]), str(x["failed_refreshes"])],
           f"{x['pgt_name']}: REFRESHES SUCCESSFUL FAILED", r.details())
    big = row_cells(r.out, "rd_big")
    n = next(x["total_rows_inserted"] for x in rows if x["pgt_name"] == "rd_big")
    check(n >= 1000 and str(n) in big.split(), f"rd_big: ROWS INSERTED {n} not in {big!r}", r.details())
    tot = row_cells(r.out, "TOTAL")
    check(tot is not None, "no TOTAL row", r.details())
    want = expected_totals(rows)
    nums = [str(want[k]) for k in STAT_INT]
    cells = tot.split()
    pos = 0
    for n in nums:
        check(n in cells[pos + 1:], f"TOTAL row {tot!r} lacks {n} (sums {nums})", r.details())
        pos = cells.index(n, pos + 1)


@test("cli-stats-empty")
def _():
    d = F.database("pgt_empty")
    doc, r = tool_json(["stats"], d)
    eq(doc["stream_tables"], [], "stats rows with no stream tables", r.details())
    check_keys(doc["totals"], C.STATS_TOTALS_KEYS, "stats totals (empty)", r.details())
    eq([doc["totals"][k] for k in ("stream_tables",) + STAT_INT], [0] * 6, "totals with no stream tables",
       r.details())
