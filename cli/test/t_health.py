"""health in every format and every state: EMPTY, OK, WARNING (a stale
table), CRITICAL (a table in ERROR, which the scheduler sets when a
refresh fails in a way retrying cannot heal)."""

import re

import contract as C
import fixtures as F
from common import check_csv_header, check_keys, csv_matches_json, tool_csv, tool_json
from harness import (assert_st_equals_query, check, eq, run, sql_exec, sql_rows, test,
                     wait_until)
from common import expect_error

HEALTH_LINE = re.compile(r"^Status: (EMPTY|OK|WARNING|CRITICAL) \((\d+) stream tables?: (\d+) in error, "
                         r"(\d+) stale, (\d+) paused; scheduler (running|not running)\)$")


def quick(d):
    return sql_rows(d, "SELECT * FROM pgtrickle.quick_health")[0]


def cdc(d):
    return sql_rows(d, "SELECT *, confirmed_lsn::text AS confirmed_lsn FROM pgtrickle.check_cdc_health() "
                       "ORDER BY pgt_schema, pgt_name, source_schema, source_table")


def expected_rc(q, sources):
    if q["status"] == "CRITICAL":
        return C.EXIT_CRITICAL
    if q["status"] == "WARNING" or not all(s["healthy"] for s in sources):
        return C.EXIT_WARNING
    return C.EXIT_OK


SRC_KEY = lambda s: (s["pgt_schema"], s["pgt_name"], s["source_schema"], s["source_table"])  # noqa: E731


def compare_health(doc, d, r, exact_issues=True):
    q = quick(d)
    sources = cdc(d)
    check_keys(doc, C.HEALTH_KEYS, "health", r.details())
    for k in ("status", "total_stream_tables", "error_tables", "stale_tables", "paused_tables",
              "scheduler_running"):
        eq(doc[k], q[k], f"health.{k}", r.details())
    want_rc = expected_rc(q, sources)
    eq(r.rc, want_rc, "exit status for this health", r.details())
    eq(doc["healthy"], want_rc == 0, "health.healthy (true exactly when the exit code is 0)", r.details())
    got = sorted(doc["sources"], key=SRC_KEY)
    eq([SRC_KEY(s) for s in got], [SRC_KEY(s) for s in sources], "health sources", r.details())
    for g, s in zip(got, sources):
        check_keys(g, C.HEALTH_SOURCE_KEYS, "health source", r.details())
        for k, _ in C.HEALTH_SOURCE_KEYS:
            if k == "issue" and not exact_issues and s[k] is not None:
                # the issue text carries a duration that grows between two calls
                check(g[k] is not None and g[k].split(" for ")[0] == s[k].split(" for ")[0],
                      f"source {SRC_KEY(s)} issue {g[k]!r} vs {s[k]!r}", r.details())
                continue
            eq(g[k], s[k], f"source {SRC_KEY(s)} {k}", r.details())
    return q, sources


def check_health_table(r, q):
    lines = r.out.splitlines()
    m = HEALTH_LINE.match(lines[0]) if lines else None
    check(m is not None, f"first line {lines[:1]!r} is not 'Status: S (N stream tables: ...)'", r.details())
    eq(m.group(1), q["status"], "Status in the first line", r.details())
    eq([int(m.group(i)) for i in (2, 3, 4, 5)],
       [q["total_stream_tables"], q["error_tables"], q["stale_tables"], q["paused_tables"]],
       "counts in the first line", r.details())
    eq(m.group(6), "running" if q["scheduler_running"] else "not running", "scheduler in the first line",
       r.details())
    return lines


@test("cli-health-empty")
def _():
    d = F.database("pgt_empty")
    doc, r = tool_json(["health"], d)
    compare_health(doc, d, r)
    eq((doc["status"], doc["healthy"], doc["sources"]), ("EMPTY", True, []), "health of an empty database",
       r.details())
    r = run(["health"], db=d).ok()
    lines = check_health_table(r, quick(d))
    eq([ln for ln in lines[1:] if ln.strip()], [], "no source table printed without sources", r.details())
    header, rows, r = tool_csv(["health"], d)
    check_csv_header(header, C.HEALTH_SOURCE_KEYS, "health", r.details())
    eq(rows, [], "health CSV rows", r.details())


@test("cli-health-ok")
def _():
    d = F.fresh_database("pgt_health_ok")
    F.create_st(d, "hok_north", F.Q_NORTH)
    F.create_st(d, "hok_totals", F.Q_TOTALS, mode="FULL")
    F.create_st(d, "hok_dep", "SELECT customer, count(*) AS n FROM hok_north GROUP BY customer")
    doc, r = tool_json(["health"], d)
    q, sources = compare_health(doc, d, r)
    eq((doc["status"], doc["healthy"], r.rc), ("OK", True, 0), "health (status, healthy, exit)", r.details())
    eq(len(doc["sources"]), 3, "sources (one per stream table and source)", r.details())
    r = run(["health"], db=d).ok()
    lines = check_health_table(r, q)
    eq(lines[1], "", "second line (blank)", r.details())
    header_cols = C.HEALTH_TABLE_HEADERS
    pos = -1
    for h in header_cols:
        i = lines[2].find(h, pos + 1)
        check(i > pos, f"sources table header {lines[2]!r} lacks {h!r}", r.details())
        pos = i
    body = [ln for ln in lines[3:] if ln.strip()]
    eq(len(body), len(sources), "rows of the sources table", r.details())
    for s in sources:
        st = f"{s['pgt_schema']}.{s['pgt_name']}"
        src = f"{s['source_schema']}.{s['source_table']}"
        row = [ln for ln in body if ln.split()[:2] == [st, src]]
        check(row, f"no row '{st} {src}'", r.details())
        cells = row[0].split()
        eq(cells[2], s["cdc_mode"], f"{st}: CDC MODE", r.details())
        # healthy, no alert and no issue: HEALTHY yes, ALERT '-'
        eq(cells[-2:], ["yes", "-"], f"{st}: HEALTHY and ALERT", r.details())
    header, rows, r = tool_csv(["health"], d)
    check_csv_header(header, C.HEALTH_SOURCE_KEYS, "health", r.details())
    csv_matches_json(sorted(rows, key=SRC_KEY), sorted(doc["sources"], key=SRC_KEY),
                     C.HEALTH_SOURCE_KEYS, "health csv", r.details())


@test("cli-health-warning")
def _():
    d = F.fresh_database("pgt_health_warn")
    F.create_st(d, "hw_fast", F.Q_NORTH, schedule="1s")
    F.create_st(d, "hw_slow", F.Q_SOUTH, schedule="1h")
    # the scheduler is off: hw_fast becomes stale (older than twice 1s)
    wait_until(lambda: quick(d)["status"] == "WARNING", "quick_health WARNING (a stale table)")
    doc, r = tool_json(["health"], d, rc=C.EXIT_WARNING)
    compare_health(doc, d, r, exact_issues=False)
    eq((doc["status"], doc["healthy"]), ("WARNING", False), "health status and healthy", r.details())
    check(doc["stale_tables"] >= 1, "no stale table counted", r.details())
    r = run(["health"], db=d).expect_rc(C.EXIT_WARNING)
    check_health_table(r, quick(d))
    r = run(["health", "--format", "csv"], db=d).expect_rc(C.EXIT_WARNING)
    doc, r = tool_json(["list"], d)
    eq({o["name"]: o["stale"] for o in doc}, {"hw_fast": True, "hw_slow": False}, "stale in list", r.details())


@test("cli-health-critical")
def _():
    d = F.fresh_database("pgt_health_crit")
    # DIFFERENTIAL: once the zero is deleted again, the pending insert and
    # delete of that row cancel out and the table refreshes after resume.
    F.create_st(d, "hc_quot", F.Q_QUOT, schedule="1s", mode="DIFFERENTIAL")
    F.create_st(d, "hc_fine", F.Q_NORTH, schedule="1h")
    sql_exec(d, "INSERT INTO divisors VALUES (1000, 5, 0)")
    # The scheduler's refresh fails (division by zero): SPEC 6 says the
    # table goes to ERROR at once.
    F.set_scheduler(True)
    try:
        wait_until(lambda: sql_rows(d, "SELECT status FROM pgtrickle.pgt_stream_tables "
                                       "WHERE pgt_name = 'hc_quot'")[0]["status"] == "ERROR",
                   "hc_quot to go to ERROR after a failed scheduled refresh", timeout=60)
    finally:
        F.set_scheduler(False)
    doc, r = tool_json(["health"], d, rc=C.EXIT_CRITICAL)
    compare_health(doc, d, r, exact_issues=False)
    eq((doc["status"], doc["healthy"], doc["error_tables"]), ("CRITICAL", False, 1),
       "health status, healthy, error_tables", r.details())
    r = run(["health"], db=d).expect_rc(C.EXIT_CRITICAL)
    check_health_table(r, quick(d))
    run(["health", "--format", "csv"], db=d).expect_rc(C.EXIT_CRITICAL)
    # the error is visible in list and status
    doc, r = tool_json(["list"], d)
    eq([(o["name"], o["status"]) for o in doc], [("hc_fine", "ACTIVE"), ("hc_quot", "ERROR")],
       "statuses in list", r.details())
    doc, r = tool_json(["status", "hc_quot"], d)
    eq((doc["status"], doc["last_error_message"]), ("ERROR", "division by zero"), "status of hc_quot",
       r.details())
    check(doc["last_error_at"] is not None and doc["failed_refreshes"] >= 1, "last_error_at / failed_refreshes",
          r.details())
    r = run(["status", "hc_quot"], db=d).ok()
    check(re.search(r"^\s*Last Error:\s+division by zero\s*$", r.out, re.M), "status table: Last Error",
          r.details())
    doc, r = tool_json(["history", "hc_quot", "--limit", "1"], d)
    eq((doc[0]["status"], doc[0]["error_message"], doc[0]["initiated_by"]),
       ("FAILED", "division by zero", "SCHEDULER"), "newest history row", r.details())
    # a table in ERROR cannot be refreshed (55000) until resumed
    expect_error(run(["refresh", "hc_quot"], db=d), C.EXIT_SERVER, "is in ERROR status",
                 hint="resume_stream_table")
    sql_exec(d, "DELETE FROM divisors WHERE id = 1000")
    r = run(["resume", "hc_quot"], db=d).ok()
    r = run(["refresh", "hc_quot"], db=d).ok()
    assert_st_equals_query(d, "hc_quot", F.Q_QUOT)
    doc, r = tool_json(["status", "hc_quot"], d)
    eq(doc["status"], "ACTIVE", "status after resume and refresh", r.details())
    r = run(["health", "--format", "json"], db=d)
    doc = r.json()
    compare_health(doc, d, r, exact_issues=False)
    check(doc["status"] != "CRITICAL", "still CRITICAL after resume", r.details())
