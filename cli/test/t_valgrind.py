"""Memory errors and definite leaks on the main paths, with valgrind
(libpq and ncurses keep 'still reachable' memory; that is fine)."""

import re
import shutil

import contract as C
import fixtures as F
from harness import CFG, VALGRIND, Fail, Pty, check, eq, run, sql_exec, test

DB = "pgt_valgrind"
_ready = []


def db():
    if not _ready:
        F.database(DB)
        F.create_st(DB, "vg_totals", F.Q_TOTALS)
        F.create_st(DB, "vg_north", F.Q_NORTH, mode="FULL")
        sql_exec(DB, "INSERT INTO orders VALUES (7001, 'c7', 7.00, 'north');"
                     "SELECT pgtrickle.refresh_stream_table('vg_totals');")
        _ready.append(True)
    return DB


def vg(name, args, rc=0, conn=True, expect=None, input=None):
    @test(f"cli-valgrind-{name}")
    def _():
        d = db() if conn else None
        r = run(args, db=d, valgrind=True, conn=conn, timeout=180, input=input)
        if r.rc == 99:
            errs = [ln for ln in r.err.splitlines() if ln.startswith("==")]
            raise Fail(f"valgrind: {errs[0] if errs else 'errors'}"[:300], r.details())
        r.expect_rc(rc)
        noise = [ln for ln in r.err.splitlines() if ln.startswith("==")]
        check(not noise, f"valgrind reported: {noise[:1]}", r.details())
        if expect:
            check(expect in (r.out + r.err), f"output lacks {expect!r}", r.details())


vg("list-table", ["list"], expect="vg_totals")
vg("list-json", ["list", "--format", "json"], expect='"vg_north"')
vg("list-csv", ["list", "--format", "csv"], expect="vg_north")
vg("status-table", ["status", "vg_totals"], expect="Source Tables")
vg("status-json", ["status", "vg_totals", "--format", "json"], expect='"sources"')
vg("create", ["create", "vg_new", "--query", F.Q_SOUTH, "--schedule", "1h"], expect="Created")
vg("create-json", ["create", "vg_new2", "--query", F.Q_NORTH, "--format", "json"], expect='"create"')
vg("refresh", ["refresh", "vg_totals"], expect="Refreshed")
vg("refresh-json", ["refresh", "vg_totals", "--format", "json"], expect='"refresh"')
vg("history-table", ["history", "vg_totals"], expect="MANUAL")
vg("history-json", ["history", "vg_totals", "--format", "json", "--limit", "5"], expect="INITIAL")
vg("health-table", ["health"], expect="Status:")
vg("health-json", ["health", "--format", "json"], expect='"sources"')
vg("stats-table", ["stats"], expect="TOTAL")
vg("stats-json", ["stats", "--format", "json"], expect='"totals"')
vg("explain-table", ["explain", "vg_totals"], expect="defining_query")
vg("watch-count", ["watch", "--interval", "100ms", "--count", "2"], expect="vg_totals")
vg("unknown-table", ["status", "no_such_st"], rc=C.EXIT_SERVER, expect="does not exist")
vg("bad-schedule", ["alter", "vg_north", "--schedule", "bogus"], rc=C.EXIT_SERVER, expect="hint")
vg("conn-failure", ["-h", "/nonexistent", "-p", "1", "list"], rc=C.EXIT_CONN, conn=False,
   expect="connection to server")
vg("usage-error", ["list", "--format", "xml"], rc=C.EXIT_USAGE, conn=False, expect="--help")


@test("cli-valgrind-watch-tty")
def _():
    # full-screen watch (ncurses) in a pseudo-terminal, ended with q
    d = db()
    t = Pty([], db=d, argv=[shutil.which("valgrind")] + VALGRIND[1:] + [CFG.tool, "watch", "--interval", "200ms"])
    try:
        t.expect(r"vg_totals", timeout=60, what="the table drawn under valgrind")
        t.expect(r"q: quit", timeout=30, what="the footer")
        t.send("q")
        rc = t.wait(timeout=60)
    finally:
        t.close()
    if rc == 99:
        raise Fail("valgrind reported errors", t.details())
    eq(rc, 0, "exit status", t.details())
    check(not re.search(r"==\d+==", t.text()), "valgrind reported something", t.details())
