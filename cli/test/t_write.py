"""The commands that change stream tables: create, alter, drop, refresh,
pause, resume, verify.  Each checks the tool's output, the catalog and the
stream table's contents against its defining query."""

import csv
import io
import json
import os
import re
import signal
import subprocess

import contract as C
import fixtures as F
from common import check_keys, expect_error, expect_usage, tool_json
from harness import (CFG, Pty, assert_st_equals_query, base_env, check, eq, qlit, run, sql_exec,
                     sql_rows, sql_value, st_mismatch, test, wait_until)

DB = "pgt_write"


def db():
    return F.database(DB)


def action_ok(r, cmd, name, fmt="table"):
    """R is the success output of action command CMD on NAME in FMT."""
    r.ok()
    if fmt == "table":
        eq(r.out, f'{C.ACTION_VERBS[cmd]} stream table "{name}".\n', f"{cmd} output", r.details())
    elif fmt == "json":
        doc = r.json()
        check_keys(doc, C.ACTION_KEYS, f"{cmd} --format json", r.details())
        eq(doc, {"ok": True, "command": cmd, "name": name}, f"{cmd} --format json", r.details())
    else:
        rows = list(csv.reader(io.StringIO(r.out, newline="")))
        eq(rows, [["ok", "command", "name"], ["true", cmd, name]], f"{cmd} --format csv", r.details())
        check(r.out.endswith("\n") and "\r" not in r.out, f"{cmd} csv line ends", r.details())
    return r


def catalog(d, name):
    row = F.st_row(d, name)
    check(row is not None, f"stream table {name} is not in the catalog")
    return row


def populated_and_equal(d, name, query):
    row = catalog(d, name)
    eq(row["is_populated"], True, f"{name}: is_populated", None)
    assert_st_equals_query(d, name, query)


# --- create ----------------------------------------------------------------------------------

@test("cli-create-query")
def _():
    d = db()
    action_ok(run(["create", "wr_q", "--query", F.Q_TOTALS], db=d), "create", "wr_q")
    row = catalog(d, "wr_q")
    eq((row["status"], row["refresh_mode"], row["requested_refresh_mode"], row["schedule"]),
       ("ACTIVE", "DIFFERENTIAL", "DIFFERENTIAL", "1m"), "defaults (status, mode, requested, schedule)")
    eq(row["original_query"], F.Q_TOTALS, "original_query")
    populated_and_equal(d, "wr_q", F.Q_TOTALS)
    check(int(sql_value(d, "SELECT count(*) FROM wr_q")) > 0, "wr_q is empty")
    # --query=SQL form, options before the command
    action_ok(run(["--format=table", "create", "wr_q2", f"--query={F.Q_NORTH}"], db=d), "create", "wr_q2")
    populated_and_equal(d, "wr_q2", F.Q_NORTH)


@test("cli-create-file")
def _():
    d = db()
    path = os.path.join(CFG.scratch, "north.sql")
    text = "SELECT id, customer, amount\n  FROM orders\n WHERE region = 'north'\n"
    with open(path, "w") as f:
        f.write(text)
    action_ok(run(["create", "wr_file", "--file", path, "--schedule", "10m"], db=d), "create", "wr_file")
    populated_and_equal(d, "wr_file", F.Q_NORTH)
    eq(catalog(d, "wr_file")["schedule"], "10m", "schedule")
    # an unreadable file is an error of the tool (exit 1), nothing is created
    r = run(["create", "wr_nofile", "--file", os.path.join(CFG.scratch, "missing.sql")], db=d)
    expect_error(r, C.EXIT_SERVER, "missing.sql")
    check(not F.st_exists(d, "wr_nofile"), "wr_nofile was created")


@test("cli-create-stdin")
def _():
    d = db()
    action_ok(run(["create", "wr_stdin", "--file", "-"], db=d, input=F.Q_SOUTH + "\n"), "create", "wr_stdin")
    populated_and_equal(d, "wr_stdin", F.Q_SOUTH)


@test("cli-create-no-initialize")
def _():
    d = db()
    action_ok(run(["create", "wr_noinit", "--query", F.Q_TOTALS, "--no-initialize"], db=d),
              "create", "wr_noinit")
    row = catalog(d, "wr_noinit")
    eq((row["status"], row["is_populated"]), ("INITIALIZING", False), "status and is_populated")
    eq(sql_value(d, "SELECT count(*) FROM wr_noinit"), "0", "rows before the first refresh")
    doc, r = tool_json(["status", "wr_noinit"], d)
    eq((doc["status"], doc["is_populated"]), ("INITIALIZING", False), "status shown by the tool", r.details())
    action_ok(run(["refresh", "wr_noinit"], db=d), "refresh", "wr_noinit")
    row = catalog(d, "wr_noinit")
    eq((row["status"], row["is_populated"]), ("ACTIVE", True), "status and is_populated after refresh")
    assert_st_equals_query(d, "wr_noinit", F.Q_TOTALS)


@test("cli-create-schedule")
def _():
    d = db()
    for name, sched, want in (("wr_s5m", "5m", "5m"), ("wr_cron", "*/10 * * * *", "*/10 * * * *"),
                              ("wr_calc", "calculated", None), ("wr_hourly", "@hourly", "@hourly")):
        action_ok(run(["create", name, "--query", F.Q_NORTH, "--schedule", sched], db=d), "create", name)
        eq(catalog(d, name)["schedule"], want, f"{name}: schedule")
        populated_and_equal(d, name, F.Q_NORTH)
    doc, r = tool_json(["status", "wr_calc"], d)
    eq(doc["schedule"], None, "status of a CALCULATED table: schedule", r.details())


@test("cli-create-mode")
def _():
    d = db()
    action_ok(run(["create", "wr_full", "--query", F.Q_TOTALS, "--mode", "FULL"], db=d), "create", "wr_full")
    row = catalog(d, "wr_full")
    eq((row["refresh_mode"], row["requested_refresh_mode"]), ("FULL", "FULL"), "modes")
    populated_and_equal(d, "wr_full", F.Q_TOTALS)
    # lower case is accepted (keywords are case-insensitive)
    action_ok(run(["create", "wr_diff", "--query", F.Q_NORTH, "--mode", "differential"], db=d),
              "create", "wr_diff")
    eq(catalog(d, "wr_diff")["refresh_mode"], "DIFFERENTIAL", "mode of wr_diff")


@test("cli-create-cdc-mode")
def _():
    d = db()
    action_ok(run(["create", "wr_cdc", "--query", F.Q_NORTH, "--cdc-mode", "trigger"], db=d), "create", "wr_cdc")
    eq(catalog(d, "wr_cdc")["cdc_mode"].upper(), "TRIGGER", "cdc_mode")
    populated_and_equal(d, "wr_cdc", F.Q_NORTH)
    expect_error(run(["create", "wr_cdc2", "--query", F.Q_NORTH, "--cdc-mode", "bogus"], db=d), C.EXIT_SERVER,
                 'invalid cdc_mode "bogus"', hint="Valid values")
    expect_error(run(["create", "wr_cdc2", "--query", F.Q_NORTH, "--cdc-mode", "wal"], db=d), C.EXIT_SERVER,
                 "not supported", detail="triggers", hint="trigger")
    check(not F.st_exists(d, "wr_cdc2"), "wr_cdc2 was created in spite of the errors")


@test("cli-create-auto-notice")
def _():
    d = db()
    q = "SELECT id, amount, random() < 2 AS yes FROM orders WHERE id < 20"
    r = run(["create", "wr_auto", "--query", q, "--mode", "AUTO"], db=d)
    action_ok(r, "create", "wr_auto")
    check(any(ln.startswith(C.NOTICE_PREFIX) and "FULL" in ln for ln in r.err.splitlines()),
          "the server's NOTICE (AUTO chose FULL) is not shown as 'pgtrickle: notice: ...'", r.details())
    check(any(ln.startswith(C.DETAIL_PREFIX) for ln in r.err.splitlines()),
          "the NOTICE's DETAIL is not shown", r.details())
    row = catalog(d, "wr_auto")
    eq((row["refresh_mode"], row["requested_refresh_mode"]), ("FULL", "AUTO"), "modes")
    # the notice goes to stderr in JSON mode too; stdout stays valid JSON
    r = run(["create", "wr_auto2", "--query", q, "--mode", "AUTO", "--format", "json"], db=d)
    action_ok(r, "create", "wr_auto2", "json")
    check(C.NOTICE_PREFIX in r.err, "no notice on stderr with --format json", r.details())


@test("cli-create-bad-schedule")
def _():
    d = db()
    for fmt in ("table", "json"):
        r = run(["create", "wr_bad", "--query", F.Q_NORTH, "--schedule", "bogus", "--format", fmt], db=d)
        expect_error(r, C.EXIT_SERVER, 'invalid schedule "bogus"', detail="Expected a number",
                     hint="Use a duration")
    r = run(["create", "wr_bad", "--query", F.Q_NORTH, "--schedule", "0.5s"], db=d)
    expect_error(r, C.EXIT_SERVER, 'invalid schedule "0.5s"', detail="Fractional", hint="Use a duration")
    check(not F.st_exists(d, "wr_bad"), "wr_bad was created in spite of the error")


@test("cli-create-bad-input")
def _():
    d = db()
    expect_error(run(["create", "wr_bad", "--query", F.Q_NORTH, "--mode", "SIDEWAYS"], db=d),
                 C.EXIT_SERVER, 'invalid refresh_mode "SIDEWAYS"', hint="Valid values")
    expect_error(run(["create", "wr_bad", "--query", "SELEC 1"], db=d), C.EXIT_SERVER,
                 'syntax error at or near "SELEC"')
    expect_error(run(["create", "wr_bad", "--query", "SELECT nope FROM orders"], db=d), C.EXIT_SERVER,
                 'column "nope" does not exist')
    check(not F.st_exists(d, "wr_bad"), "wr_bad was created in spite of the errors")
    F.create_st(d, "wr_dup", F.Q_NORTH)
    expect_error(run(["create", "wr_dup", "--query", F.Q_SOUTH], db=d), C.EXIT_SERVER, "already exists")
    assert_st_equals_query(d, "wr_dup", F.Q_NORTH)


@test("cli-create-usage")
def _():
    d = db()
    expect_usage(run(["create", "wr_u"], db=d), "create without --query/--file")
    expect_usage(run(["create", "--query", F.Q_NORTH], db=d), "create without NAME")
    expect_usage(run(["create", "wr_u", "--query", F.Q_NORTH, "--file", "-"], db=d, input=F.Q_NORTH),
                 "create with both --query and --file")
    expect_usage(run(["create", "wr_u", "--query"], db=d), "--query without a value")
    expect_usage(run(["create", "wr_u", "wr_v", "--query", F.Q_NORTH], db=d), "create with an extra argument")
    check(not F.st_exists(d, "wr_u"), "wr_u was created by a usage error")


# --- alter -------------------------------------------------------------------------------------

@test("cli-alter-schedule")
def _():
    d = db()
    F.create_st(d, "wr_alt_s", F.Q_NORTH, schedule="1h")
    action_ok(run(["alter", "wr_alt_s", "--schedule", "15m"], db=d), "alter", "wr_alt_s")
    row = catalog(d, "wr_alt_s")
    eq((row["schedule"], row["refresh_mode"], row["status"]), ("15m", "DIFFERENTIAL", "ACTIVE"),
       "schedule changed, the rest unchanged")
    action_ok(run(["alter", "wr_alt_s", "--schedule", "calculated"], db=d), "alter", "wr_alt_s")
    eq(catalog(d, "wr_alt_s")["schedule"], None, "schedule after --schedule calculated")
    r = run(["alter", "wr_alt_s", "--schedule", "soon"], db=d)
    expect_error(r, C.EXIT_SERVER, 'invalid schedule "soon"', hint="Use a duration")
    eq(catalog(d, "wr_alt_s")["schedule"], None, "schedule after a bad --schedule")


@test("cli-alter-mode")
def _():
    d = db()
    F.create_st(d, "wr_alt_m", F.Q_TOTALS)
    action_ok(run(["alter", "wr_alt_m", "--mode", "FULL"], db=d), "alter", "wr_alt_m")
    row = catalog(d, "wr_alt_m")
    eq((row["refresh_mode"], row["requested_refresh_mode"], row["schedule"]), ("FULL", "FULL", "1h"),
       "mode changed, schedule unchanged")
    sql_exec(d, "INSERT INTO orders VALUES (2001, 'c3', 1.00, 'north')")
    action_ok(run(["refresh", "wr_alt_m"], db=d), "refresh", "wr_alt_m")
    assert_st_equals_query(d, "wr_alt_m", F.Q_TOTALS)
    hist = sql_rows(d, "SELECT action FROM pgtrickle.get_refresh_history('wr_alt_m', 1)")
    eq(hist[0]["action"], "FULL", "action of the refresh after --mode FULL")
    action_ok(run(["alter", "wr_alt_m", "--mode", "DIFFERENTIAL"], db=d), "alter", "wr_alt_m")
    eq(catalog(d, "wr_alt_m")["refresh_mode"], "DIFFERENTIAL", "mode back to DIFFERENTIAL")


@test("cli-alter-status")
def _():
    d = db()
    F.create_st(d, "wr_alt_st", F.Q_NORTH)
    action_ok(run(["alter", "wr_alt_st", "--status", "PAUSED"], db=d), "alter", "wr_alt_st")
    eq(catalog(d, "wr_alt_st")["status"], "PAUSED", "status after --status PAUSED")
    action_ok(run(["alter", "wr_alt_st", "--status", "ACTIVE"], db=d), "alter", "wr_alt_st")
    eq(catalog(d, "wr_alt_st")["status"], "ACTIVE", "status after --status ACTIVE")
    expect_error(run(["alter", "wr_alt_st", "--status", "bogus"], db=d), C.EXIT_SERVER,
                 'invalid status "bogus"', hint="Valid values")
    eq(catalog(d, "wr_alt_st")["status"], "ACTIVE", "status after a bad --status")


@test("cli-alter-query")
def _():
    d = db()
    F.create_st(d, "wr_alt_q", F.Q_NORTH)
    oid = sql_value(d, "SELECT 'wr_alt_q'::regclass::oid")
    action_ok(run(["alter", "wr_alt_q", "--query", F.Q_SOUTH], db=d), "alter", "wr_alt_q")
    eq(sql_value(d, "SELECT 'wr_alt_q'::regclass::oid"), oid, "OID of the storage table")
    row = catalog(d, "wr_alt_q")
    eq(row["original_query"], F.Q_SOUTH, "original_query after --query")
    check(st_mismatch(d, "wr_alt_q", F.Q_NORTH) > 0, "contents still equal the old query")
    assert_st_equals_query(d, "wr_alt_q", F.Q_SOUTH)
    # --file, with several options at once
    path = os.path.join(CFG.scratch, "alter.sql")
    q3 = "SELECT id, customer, amount FROM orders WHERE region IS NULL"
    with open(path, "w") as f:
        f.write(q3 + "\n")
    action_ok(run(["alter", "wr_alt_q", "--file", path, "--schedule", "20m"], db=d), "alter", "wr_alt_q")
    eq(sql_value(d, "SELECT 'wr_alt_q'::regclass::oid"), oid, "OID after --file")
    eq(catalog(d, "wr_alt_q")["schedule"], "20m", "schedule after --file --schedule")
    assert_st_equals_query(d, "wr_alt_q", q3)
    # --file - (stdin)
    action_ok(run(["alter", "wr_alt_q", "--file", "-"], db=d, input=F.Q_NORTH), "alter", "wr_alt_q")
    assert_st_equals_query(d, "wr_alt_q", F.Q_NORTH)


@test("cli-alter-usage")
def _():
    d = db()
    F.create_st(d, "wr_alt_u", F.Q_NORTH)
    expect_usage(run(["alter", "wr_alt_u"], db=d), "alter without options")
    expect_usage(run(["alter", "--schedule", "5m"], db=d), "alter without NAME")
    expect_usage(run(["alter", "wr_alt_u", "--query", F.Q_SOUTH, "--file", "-"], db=d, input=F.Q_SOUTH),
                 "alter with --query and --file")
    expect_error(run(["alter", "no_such_st", "--schedule", "5m"], db=d), C.EXIT_SERVER,
                 'stream table "no_such_st" does not exist')
    assert_st_equals_query(d, "wr_alt_u", F.Q_NORTH)


# --- drop ----------------------------------------------------------------------------------------

@test("cli-drop")
def _():
    d = db()
    F.create_st(d, "wr_drop", F.Q_NORTH)
    action_ok(run(["drop", "wr_drop"], db=d), "drop", "wr_drop")
    check(not F.st_exists(d, "wr_drop"), "wr_drop still in the catalog")
    eq(sql_value(d, "SELECT to_regclass('wr_drop') IS NULL"), "t", "the table wr_drop is gone")
    expect_error(run(["drop", "wr_drop"], db=d), C.EXIT_SERVER, 'stream table "wr_drop" does not exist')
    expect_usage(run(["drop"], db=d), "drop without NAME")


@test("cli-drop-dependent")
def _():
    d = db()
    F.create_st(d, "wr_base", F.Q_NORTH)
    F.create_st(d, "wr_child", "SELECT customer, count(*) AS n FROM wr_base GROUP BY customer")
    r = run(["drop", "wr_base"], db=d)
    expect_error(r, C.EXIT_SERVER,
                 "cannot drop stream table public.wr_base because other stream tables read it",
                 detail="stream table public.wr_child reads stream table public.wr_base",
                 hint="cascade")
    check(F.st_exists(d, "wr_base") and F.st_exists(d, "wr_child"), "a stream table was dropped")
    action_ok(run(["drop", "wr_base", "--cascade"], db=d), "drop", "wr_base")
    check(not F.st_exists(d, "wr_base") and not F.st_exists(d, "wr_child"),
          "drop --cascade left a stream table")
    eq(sql_value(d, "SELECT to_regclass('wr_child') IS NULL"), "t", "the table wr_child is gone")


# --- refresh -----------------------------------------------------------------------------------

@test("cli-refresh")
def _():
    d = db()
    F.create_st(d, "wr_ref_d", F.Q_TOTALS)
    F.create_st(d, "wr_ref_f", F.Q_NORTH, mode="FULL")
    before = {n: int(sql_value(d, f"SELECT count(*) FROM pgtrickle.get_refresh_history('{n}', 100)"))
              for n in ("wr_ref_d", "wr_ref_f")}
    sql_exec(d, """
        INSERT INTO orders SELECT g, 'c' || (g % 11), g % 50, 'north' FROM generate_series(3001, 3040) g;
        DELETE FROM orders WHERE id BETWEEN 30 AND 45;
        UPDATE orders SET amount = amount * 2, region = 'north' WHERE id BETWEEN 50 AND 70;
    """)
    for name, q in (("wr_ref_d", F.Q_TOTALS), ("wr_ref_f", F.Q_NORTH)):
        check(st_mismatch(d, name, q) > 0, f"{name} equals its query before the refresh (the check cannot fail)")
        action_ok(run(["refresh", name], db=d), "refresh", name)
        assert_st_equals_query(d, name, q)
        hist = sql_rows(d, f"SELECT * FROM pgtrickle.get_refresh_history('{name}', 100)")
        eq(len(hist), before[name] + 1, f"{name}: one more history row")
        eq((hist[0]["initiated_by"], hist[0]["status"]), ("MANUAL", "COMPLETED"), f"{name}: newest refresh")
    eq(sql_rows(d, "SELECT action FROM pgtrickle.get_refresh_history('wr_ref_d', 1)")[0]["action"],
       "DIFFERENTIAL", "action of the refresh of the DIFFERENTIAL table")
    expect_error(run(["refresh", "no_such_st"], db=d), C.EXIT_SERVER, 'stream table "no_such_st" does not exist')
    expect_usage(run(["refresh"], db=d), "refresh without NAME")


# --- pause / resume ------------------------------------------------------------------------------

@test("cli-pause-resume")
def _():
    d = db()
    F.create_st(d, "wr_pr", F.Q_NORTH)
    action_ok(run(["pause", "wr_pr"], db=d), "pause", "wr_pr")
    eq(catalog(d, "wr_pr")["status"], "PAUSED", "status after pause")
    doc, r = tool_json(["list"], d)
    eq([o["status"] for o in doc if o["name"] == "wr_pr"], ["PAUSED"], "list shows PAUSED", r.details())
    # a paused table keeps capturing and can be refreshed by hand
    sql_exec(d, "INSERT INTO orders VALUES (4001, 'c4', 4.00, 'north')")
    action_ok(run(["refresh", "wr_pr"], db=d), "refresh", "wr_pr")
    assert_st_equals_query(d, "wr_pr", F.Q_NORTH)
    action_ok(run(["resume", "wr_pr"], db=d), "resume", "wr_pr")
    eq(catalog(d, "wr_pr")["status"], "ACTIVE", "status after resume")
    for cmd in ("pause", "resume"):
        expect_error(run([cmd, "no_such_st"], db=d), C.EXIT_SERVER, 'stream table "no_such_st" does not exist')
        expect_usage(run([cmd], db=d), f"{cmd} without NAME")


# --- action commands in json and csv -----------------------------------------------------------

def _actions_in(fmt):
    @test(f"cli-actions-{fmt}")
    def _():
        d = db()
        n = f"wr_act_{fmt}"
        action_ok(run(["create", n, "--query", F.Q_NORTH, "--schedule", "1h", "--format", fmt], db=d),
                  "create", n, fmt)
        assert_st_equals_query(d, n, F.Q_NORTH)
        sql_exec(d, "UPDATE orders SET region = 'north' WHERE id BETWEEN 100 AND 110")
        action_ok(run(["refresh", n, "--format", fmt], db=d), "refresh", n, fmt)
        assert_st_equals_query(d, n, F.Q_NORTH)
        action_ok(run(["alter", n, "--schedule", "2h", "--format", fmt], db=d), "alter", n, fmt)
        eq(catalog(d, n)["schedule"], "2h", "schedule after alter")
        action_ok(run(["pause", n, "--format", fmt], db=d), "pause", n, fmt)
        eq(catalog(d, n)["status"], "PAUSED", "status after pause")
        action_ok(run(["resume", n, "--format", fmt], db=d), "resume", n, fmt)
        eq(catalog(d, n)["status"], "ACTIVE", "status after resume")
        action_ok(run(["drop", n, "--format", fmt], db=d), "drop", n, fmt)
        check(not F.st_exists(d, n), f"{n} not dropped")


for _fmt in ("json", "csv"):
    _actions_in(_fmt)


# --- verify ----------------------------------------------------------------------------------------

@test("cli-verify-consistent")
def _():
    d = db()
    F.create_st(d, "wr_ver", F.Q_TOTALS)
    sql_exec(d, "INSERT INTO orders VALUES (5001, 'c5', 5.00, 'south')")
    r = run(["verify", "wr_ver"], db=d).ok()
    eq(r.out, 'Stream table "wr_ver" is consistent.\n', "verify output", r.details())
    # verify refreshes first
    assert_st_equals_query(d, "wr_ver", F.Q_TOTALS)
    doc, r = tool_json(["verify", "wr_ver"], d)
    eq(doc, [], "verify --format json of a consistent table", r.details())
    r = run(["verify", "wr_ver", "--format", "csv"], db=d).ok()
    eq(r.out, "side,row_data\n", "verify --format csv of a consistent table", r.details())
    expect_error(run(["verify", "no_such_st"], db=d), C.EXIT_SERVER, 'stream table "no_such_st" does not exist')


@test("cli-verify-differences")
def _():
    # A query with random() gives a different result every time it runs, so
    # verify honestly finds every row twice (missing and extra).
    d = db()
    F.create_st(d, "wr_rand", "SELECT id, random() AS r FROM divisors WHERE id <= 3", mode="FULL")
    doc, r = tool_json(["verify", "wr_rand"], d, rc=C.EXIT_DIFFERENT)
    check(isinstance(doc, list), "verify --format json is not an array", r.details())
    eq(len(doc), 6, "differing rows (3 missing, 3 extra)", r.details())
    for o in doc:
        check_keys(o, C.VERIFY_KEYS, "verify row", r.details())
        check(o["side"] in ("missing", "extra"), f"side {o['side']!r}", r.details())
        eq(sorted(o["row_data"].keys()), ["id", "r"], "row_data keys (internal columns ignored)", r.details())
    eq(sorted(o["row_data"]["id"] for o in doc if o["side"] == "missing"), [1, 2, 3], "missing ids",
       r.details())
    eq(sorted(o["row_data"]["id"] for o in doc if o["side"] == "extra"), [1, 2, 3], "extra ids", r.details())
    r = run(["verify", "wr_rand"], db=d).expect_rc(C.EXIT_DIFFERENT)
    lines = [ln for ln in r.out.splitlines() if ln.strip()]
    eq(lines[-1], "6 rows differ.", "last line of the verify table", r.details())
    check(lines[0].split()[:2] == ["SIDE", "ROW"], f"verify table header {lines[0]!r}", r.details())
    eq(len([ln for ln in lines if ln.split()[0] in ("missing", "extra")]), 6, "verify table rows", r.details())
    r = run(["verify", "wr_rand", "--format", "csv"], db=d).expect_rc(C.EXIT_DIFFERENT)
    rows = list(csv.DictReader(io.StringIO(r.out, newline="")))
    eq(len(rows), 6, "verify csv rows", r.details())
    for row in rows:
        obj = json.loads(row["row_data"])
        outside_strings = re.sub(r'"(\\.|[^"\\])*"', "", row["row_data"])
        check(not re.search(r"\s", outside_strings), f"row_data is not compact JSON: {row['row_data']!r}",
              r.details())
        eq(sorted(obj.keys()), ["id", "r"], "csv row_data keys", r.details())


@test("cli-verify-one-row")
def _():
    # Each evaluation of this query returns one row more than the one
    # before (a sequence): after verify's own refresh, the query has exactly
    # one row the table lacks.
    d = db()
    sql_exec(d, "DROP SEQUENCE IF EXISTS wr_seq; CREATE SEQUENCE wr_seq;")
    F.create_st(d, "wr_grow", "SELECT g FROM generate_series(1, nextval('wr_seq')::int) g", mode="FULL")
    r = run(["verify", "wr_grow"], db=d).expect_rc(C.EXIT_DIFFERENT)
    lines = [ln for ln in r.out.splitlines() if ln.strip()]
    eq(lines[-1], "1 row differs.", "last line of the verify table", r.details())
    doc, r = tool_json(["verify", "wr_grow"], d, rc=C.EXIT_DIFFERENT)
    n = int(sql_value(d, "SELECT count(*) FROM wr_grow"))
    eq(doc, [{"side": "missing", "row_data": {"g": n + 1}}], "verify --format json", r.details())


# --- names that need quoting -----------------------------------------------------------------------

@test("cli-quoted-names")
def _():
    d = db()
    sql_exec(d, 'CREATE SCHEMA IF NOT EXISTS "my schema"')
    name = '"my schema"."odd.na""me"'
    action_ok(run(["create", name, "--query", F.Q_NORTH, "--schedule", "1h"], db=d), "create", name)
    rows = sql_rows(d, "SELECT pgt_schema, pgt_name FROM pgtrickle.pgt_stream_tables "
                       f"WHERE pgt_relid = to_regclass({qlit(name)})")
    eq(rows, [{"pgt_schema": "my schema", "pgt_name": 'odd.na"me'}], "catalog schema and name")
    assert_st_equals_query(d, name, F.Q_NORTH)
    doc, r = tool_json(["status", name], d)
    eq((doc["schema"], doc["name"]), ("my schema", 'odd.na"me'), "status schema and name", r.details())
    doc, r = tool_json(["list"], d)
    check(any(o["schema"] == "my schema" and o["name"] == 'odd.na"me' for o in doc),
          "list does not show the stream table", r.details())
    r = run(["list", "--format", "csv"], db=d).ok()
    rows = list(csv.DictReader(io.StringIO(r.out, newline="")))
    check(any(x["schema"] == "my schema" and x["name"] == 'odd.na"me' for x in rows),
          "list --format csv does not carry the name (RFC 4180 quoting)", r.details())
    check('"odd.na""me"' in r.out, "the CSV field with a quote is not quoted with the quote doubled", r.details())
    sql_exec(d, "INSERT INTO orders VALUES (6001, 'c6', 6.00, 'north')")
    check(st_mismatch(d, name, F.Q_NORTH) > 0, "contents equal the query before the refresh")
    action_ok(run(["refresh", name], db=d), "refresh", name)
    assert_st_equals_query(d, name, F.Q_NORTH)
    doc, r = tool_json(["history", name, "--limit", "1"], d)
    eq(doc[0]["initiated_by"], "MANUAL", "history of the quoted name", r.details())
    r = run(["status", name], db=d).ok()
    check("odd.na\"me" in r.out and "my schema" in r.out, "status table lacks the name", r.details())
    # the unquoted spelling is a different (non-existent) name
    expect_error(run(["status", "my schema.odd.na\"me"], db=d), C.EXIT_SERVER)
    action_ok(run(["drop", name], db=d), "drop", name)
    check(not F.st_exists(d, name), "the stream table was not dropped")


# --- Ctrl-C cancels the running statement ------------------------------------------------

SLOW = "SELECT 1 AS a FROM pg_sleep(120)"


def wait_running(d, app):
    """Wait until the tool's session (application_name APP) runs a statement."""
    return wait_until(lambda: sql_rows(d, "SELECT pid FROM pg_stat_activity WHERE application_name = "
                                          f"'{app}' AND state = 'active'"),
                      f"the statement of {app} to run")


@test("cli-cancel")
def _():
    # create runs the initial refresh, which sleeps: ^C in a terminal and
    # SIGINT without one cancel it (exit 1, the server's message), and
    # nothing is created.
    d = db()
    app = "pgt_cli_cancel"
    t = Pty(["create", "wr_slow", "--query", SLOW, "--mode", "FULL"], db=d, env={"PGAPPNAME": app})
    try:
        wait_running(d, app)
        t.send("\x03")
        rc = t.wait(timeout=30)
    finally:
        t.close()
    eq(rc, C.EXIT_SERVER, "exit status after Ctrl-C", t.details())
    check("pgtrickle: error: canceling statement due to user request" in t.text(),
          "no 'canceling statement due to user request' error", t.details())
    check(not F.st_exists(d, "wr_slow"), "wr_slow exists after the cancelled create")
    env = base_env(d)
    env["PGAPPNAME"] = app
    p = subprocess.Popen([CFG.tool, "create", "wr_slow", "--query", SLOW, "--mode", "FULL"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, text=True,
                         start_new_session=True)
    try:
        wait_running(d, app)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    eq(p.returncode, C.EXIT_SERVER, f"exit status after SIGINT (stderr {err.strip()[:200]!r})")
    check("pgtrickle: error: canceling statement due to user request" in err,
          f"no 'canceling statement' error after SIGINT: {err[:300]!r}")
    eq(out, "", "stdout after SIGINT")
    check(not F.st_exists(d, "wr_slow"), "wr_slow exists after the cancelled create")
    eq(sql_rows(d, f"SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = '{app}'")[0]["n"], 0,
       "sessions of the cancelled tool left")
