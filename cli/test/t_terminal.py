"""Behaviour on a terminal: colour (only on a terminal, never with NO_COLOR
or --no-color), and watch (full screen in a pseudo-terminal; plain repeated
output otherwise)."""

import json
import csv
import io
import os
import re
import signal
import subprocess
import termios
import time

import contract as C
import fixtures as F
from common import check_keys, expect_usage, expect_error, header_columns
from harness import (CFG, Fail, Pty, base_env, check, eq, run, sql_exec, sql_rows, sql_value,
                     test, wait_until)

DB = "pgt_term"
_ready = []

SGR = re.compile(rb"\x1b\[([0-9;]*)m")


def db():
    if not _ready:
        F.database(DB)
        F.create_st(DB, "term_active", F.Q_NORTH)
        F.create_st(DB, "term_paused", F.Q_SOUTH)
        sql_exec(DB, "SELECT pgtrickle.pause_stream_table('term_paused')")
        _ready.append(True)
    return DB


def pty_output(args, env=None, d=None):
    t = Pty(args, db=d or db(), env=env)
    try:
        rc = t.wait(timeout=30)
    finally:
        t.close()
    return rc, t


def coloured(raw, word, code):
    """WORD appears right after an SGR sequence that sets colour CODE."""
    for m in re.finditer(rb"((?:\x1b\[[0-9;]*m)+)" + re.escape(word.encode()), raw):
        for p in SGR.finditer(m.group(1)):
            if code in p.group(1).split(b";"):
                return True
    return False


@test("cli-color-tty")
def _():
    rc, t = pty_output(["list"])
    eq(rc, 0, "exit status", t.details())
    check(SGR.search(t.data), "no colour (SGR escape codes) on a terminal", t.details())
    check(coloured(t.data, "ACTIVE", b"32"), "ACTIVE is not green on a terminal", t.details())
    check(coloured(t.data, "PAUSED", b"33"), "PAUSED is not yellow on a terminal", t.details())
    rc, t = pty_output(["history", "term_active"])
    check(coloured(t.data, "COMPLETED", b"32"), "COMPLETED is not green in history", t.details())
    want = sql_value(db(), "SELECT status FROM pgtrickle.quick_health")
    rc, t = pty_output(["health"])
    code = {"OK": b"32", "EMPTY": None, "WARNING": b"33", "CRITICAL": b"31"}[want]
    if code:
        check(coloured(t.data, want, code), f"health status {want} is not coloured ({code.decode()})", t.details())
    # an empty NO_COLOR does not turn colour off
    rc, t = pty_output(["list"], env={"NO_COLOR": ""})
    check(coloured(t.data, "ACTIVE", b"32"), "NO_COLOR='' turned colour off", t.details())


@test("cli-color-no-color")
def _():
    for label, args, env in (("NO_COLOR=1", ["list"], {"NO_COLOR": "1"}),
                             ("--no-color", ["list", "--no-color"], None),
                             ("NO_COLOR=1 status", ["status", "term_active"], {"NO_COLOR": "1"}),
                             ("NO_COLOR=1 health", ["health"], {"NO_COLOR": "1"})):
        rc, t = pty_output(args, env=env)
        eq(rc, 0, f"{label}: exit status", t.details())
        check(not SGR.search(t.data), f"{label}: colour escape codes on the terminal", t.details())
        check("term_active" in t.text() or "Status" in t.text(), f"{label}: no output", t.details())


@test("cli-color-pipe")
def _():
    d = db()
    for args in (["list"], ["status", "term_paused"], ["health"], ["stats"], ["history", "term_active"],
                 ["watch", "--count", "1", "--interval", "100ms"]):
        r = run(args, db=d, env={"TERM": "xterm-256color"})
        r.expect_rc((0, C.EXIT_WARNING))
        check("\x1b" not in r.out and "\x1b" not in r.err, f"{' '.join(args)}: escape codes when piped",
              r.details())
        check(r.out.strip(), f"{' '.join(args)}: no output", r.details())


@test("cli-relative-times")
def _():
    d = db()
    r = run(["list"], db=d).ok()
    check(C.RELATIVE_RE.search(r.out), "list: no relative time ('26s ago')", r.details())
    r = run(["history", "term_active"], db=d).ok()
    check(C.RELATIVE_RE.search(r.out), "history: no relative time", r.details())
    r = run(["status", "term_active"], db=d).ok()
    check(re.search(r"\(\d+(s|m|h|d) ago\)", r.out), "status: Last Refresh without '(Ns ago)'", r.details())


# --- watch on a terminal ------------------------------------------------------------

ALT_ON = b"\x1b[?1049h"
ALT_OFF = b"\x1b[?1049l"


def check_restored(t):
    """After the tool exits the terminal is back to normal: echo and
    canonical mode as before, alternate screen left."""
    modes = t.modes()
    # a new pseudo-terminal starts with all three on
    for flag, label in ((termios.ECHO, "ECHO"), (termios.ICANON, "ICANON"), (termios.ISIG, "ISIG")):
        check(modes[3] & flag, f"terminal mode {label} not restored after exit", t.details())
    if ALT_ON in t.data:
        check(t.data.rfind(ALT_OFF) > t.data.rfind(ALT_ON),
              "the alternate screen was entered and not left", t.details())


def start_watch(extra=(), d=None):
    t = Pty(["watch", "--interval", "200ms"] + list(extra), db=d or db(), rows=30, cols=150)
    t.expect(r"pgtrickle watch", what="the watch header")
    t.expect(r"term_active", what="a stream table name")
    t.expect(r"q: quit", what="the footer 'q: quit'")
    return t


@test("cli-watch-tty-quit")
def _():
    d = db()
    t = start_watch()
    try:
        text = t.text()
        check(d in text, "the header does not name the database", t.details())
        check(re.search(r"health: (OK|WARNING|CRITICAL|EMPTY)", text), "the header has no health status",
              t.details())
        check(re.search(r"every\s+200ms", text), "the header does not show the interval", t.details())
        header_columns(re.sub(r"\s+", " ", text), C.LIST_TABLE_HEADERS, "watch table header", t.details())
        check(ALT_ON in t.data or b"\x1b[H" in t.data or b"\x1b[2J" in t.data,
              "watch does not take over the screen", t.details())
        # what the screen shows (a small terminal emulator reads the output)
        health = sql_value(d, "SELECT status FROM pgtrickle.quick_health")
        t.expect_screen(r"\Apgtrickle watch  " + re.escape(d) + r"  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC  "
                        r"health: " + health + r"  every 200ms$", what="the header line")
        t.expect_screen(r"^NAME\s+SCHEMA\s+STATUS\s+MODE\s+SCHEDULE\s+STALE\s+ERRORS\s+LAST REFRESH$",
                        what="the table header")
        t.expect_screen(r"^term_active\s+public\s+ACTIVE\s+DIFFERENTIAL\s+1h\s+no\s+0\s+\d+(s|m|h|d) ago$",
                        what="the row of term_active")
        t.expect_screen(r"^term_paused\s+public\s+PAUSED\s+DIFFERENTIAL\s+1h\s+no\s+0\s+\d+(s|m|h|d) ago$",
                        what="the row of term_paused")
        eq([ln for ln in t.screen.lines() if ln][-1], "q: quit", "the last line on the screen", t.details())
        t.send("q")
        rc = t.wait()
        eq(rc, 0, "exit status after q", t.details())
        check_restored(t)
    finally:
        t.close()


@test("cli-watch-tty-ctrl-c")
def _():
    t = start_watch()
    try:
        t.send("\x03")
        rc = t.wait()
        eq(rc, 0, "exit status after Ctrl-C", t.details())
        check_restored(t)
    finally:
        t.close()


@test("cli-watch-tty-redraw")
def _():
    d = db()
    F.drop_st_if_exists(d, "term_late")
    t = start_watch()
    try:
        check("term_late" not in t.text(), "term_late shown before it exists", t.details())
        at = len(t.data)
        # a change made meanwhile shows on a later redraw
        F.create_st(d, "term_late", F.Q_NORTH)
        t.expect(r"term_late", since=at, what="the new stream table term_late after a redraw")
        t.expect_screen(r"^term_late\s+public\s+ACTIVE\s", what="term_late ACTIVE on the screen")
        sql_exec(d, "SELECT pgtrickle.pause_stream_table('term_late')")
        t.expect_screen(r"^term_late\s+public\s+PAUSED\s", what="term_late PAUSED after pausing it")
        # Ctrl-L repaints the whole screen
        at = len(t.data)
        t.send("\x0c")
        t.expect(r"term_active(?s:.*)term_late(?s:.*)q: quit", since=at, what="a full repaint after Ctrl-L")
        t.send("Q")
        eq(t.wait(), 0, "exit status after Q", t.details())
        check_restored(t)
    finally:
        t.close()
        F.drop_st_if_exists(d, "term_late")


@test("cli-watch-tty-resize")
def _():
    # a resize repaints at the new size; even a tiny window does not end it
    t = start_watch()
    try:
        for rows, cols in ((20, 70), (4, 15), (30, 150)):
            at = len(t.data)
            t.resize(rows, cols)
            if cols >= 70:
                t.expect(r"term_active", since=at, what=f"the table after resizing to {cols}x{rows}")
                t.expect_screen(r"^term_active\s+public\s+ACTIVE", what=f"term_active's row at {cols}x{rows}")
                t.expect_screen(r"^q: quit", what=f"the footer at {cols}x{rows}")
            else:
                t.expect(r"\S", since=at, what=f"a repaint after resizing to {cols}x{rows}")
            check(t.rc is None and not t.eof, f"watch ended after resizing to {cols}x{rows}", t.details())
        t.send("q")
        eq(t.wait(), 0, "exit status after q", t.details())
        check_restored(t)
    finally:
        t.close()


@test("cli-watch-tty-overflow")
def _():
    # more stream tables than rows on the screen: the footer says how many
    # did not fit, and the visible ones plus those add up
    d = F.database("pgt_watch_many")
    names = [f"many_{i:02d}" for i in range(1, 16)]
    for n in names:
        F.create_st(d, n, F.Q_NORTH)
    t = Pty(["watch", "--interval", "200ms"], db=d, rows=10, cols=120)
    try:
        m = t.expect(r"\((\d+) more rows? below: enlarge the window\)", what="'(N more rows below ...)'")
        m = t.expect_screen(r"\((\d+) more rows? below: enlarge the window\)", what="the footer on the screen")
        hidden = int(m.group(1))
        shown = [ln.split()[0] for ln in t.screen.lines() if ln.startswith("many_")]
        eq(len(shown) + hidden, len(names), f"rows shown ({len(shown)}) + rows below ({hidden})", t.details())
        eq(shown, names[:len(shown)], "the first rows are shown", t.details())
        t.send("q")
        eq(t.wait(), 0, "exit status after q", t.details())
    finally:
        t.close()


@test("cli-watch-tty-count")
def _():
    # --count on a terminal: N redraws, then exit 0 and restore the terminal
    t = Pty(["watch", "--interval", "100ms", "--count", "3"], db=db())
    try:
        rc = t.wait(timeout=30)
        eq(rc, 0, "exit status", t.details())
        check("term_active" in t.text(), "no stream table drawn", t.details())
        check_restored(t)
    finally:
        t.close()


@test("cli-watch-tty-plain")
def _():
    # Full screen only when stdin and stdout are terminals, the format is
    # table and ncurses knows TERM; otherwise the plain repeated output.
    d = db()
    cases = (
        ("--format json", Pty(["watch", "--interval", "100ms", "--count", "2", "--format", "json"], db=d),
         r'(?s)\{"time": ?"[^"]+".*\n.*\{"time"'),
        ("an unknown TERM", Pty(["watch", "--interval", "100ms", "--count", "2"], db=d,
                                term="pgt-no-such-terminal"),
         r"(?s)-- [^\n]* UTC --.*-- [^\n]* UTC --"),
        ("stdin not a terminal", Pty([], db=d, argv=["/bin/sh", "-c", 'exec "$0" watch --interval 100ms '
                                                    '--count 2 </dev/null', CFG.tool]),
         r"(?s)-- [^\n]* UTC --.*-- [^\n]* UTC --"),
    )
    for label, t, pattern in cases:
        try:
            rc = t.wait(timeout=30)
            eq(rc, 0, f"{label}: exit status", t.details())
            check(re.search(pattern, t.text().replace("\r\n", "\n")), f"{label}: not the plain output",
                  t.details())
            check(ALT_ON not in t.data and b"q: quit" not in t.data, f"{label}: full screen", t.details())
        finally:
            t.close()


# --- watch without a terminal ---------------------------------------------------------

SNAP = re.compile(r"^-- \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC --$", re.M)


@test("cli-watch-count")
def _():
    d = db()
    r = run(["watch", "--interval", "500ms", "--count", "3"], db=d).ok()
    eq(len(SNAP.findall(r.out)), 3, "snapshots ('-- TIME UTC --' lines)", r.details())
    names = [x["pgt_name"] for x in sql_rows(d, "SELECT pgt_name FROM pgtrickle.pgt_stream_tables")]
    for part in SNAP.split(r.out)[1:]:
        lines = [ln for ln in part.splitlines() if ln.strip()]
        header_columns(lines[0], C.LIST_TABLE_HEADERS, "watch snapshot", r.details())
        got = sorted(ln.split()[0] for ln in lines[1:])
        eq(got, sorted(names), "stream tables in a snapshot", r.details())
    r = run(["watch", "--interval=100ms", "--count=1"], db=d).ok()
    eq(len(SNAP.findall(r.out)), 1, "snapshots with --count=1", r.details())


@test("cli-watch-json")
def _():
    d = db()
    r = run(["watch", "--interval", "100ms", "--count", "2", "--format", "json"], db=d).ok()
    lines = r.out.splitlines()
    eq(len(lines), 2, "JSON lines", r.details())
    health = sql_value(d, "SELECT status FROM pgtrickle.quick_health")
    names = sorted(x["pgt_name"] for x in sql_rows(d, "SELECT pgt_name FROM pgtrickle.pgt_stream_tables"))
    for ln in lines:
        try:
            doc = json.loads(ln)
        except ValueError as e:
            raise Fail(f"a watch JSON line is not JSON: {e}", r.details())
        check_keys(doc, C.WATCH_JSON_KEYS, "watch JSON line", r.details())
        check(doc["time"] is not None, "time is null", r.details())
        eq(doc["health"], health, "health", r.details())
        for o in doc["stream_tables"]:
            check_keys(o, C.LIST_KEYS, "watch stream table", r.details())
        eq(sorted(o["name"] for o in doc["stream_tables"]), names, "stream tables", r.details())


@test("cli-watch-csv")
def _():
    d = db()
    r = run(["watch", "--interval", "100ms", "--count", "2", "--format", "csv"], db=d).ok()
    rows = list(csv.reader(io.StringIO(r.out, newline="")))
    eq(rows[0], ["time"] + [k for k, _ in C.LIST_KEYS], "watch CSV header", r.details())
    n = int(sql_value(d, "SELECT count(*) FROM pgtrickle.pgt_stream_tables"))
    eq(len(rows) - 1, 2 * n, "watch CSV rows (2 redraws)", r.details())
    times = sorted({row[0] for row in rows[1:]})
    eq(len(times), 2, "distinct times in the CSV rows", r.details())
    for t in times:
        check(C.TIMESTAMP_RE.match(t), f"time {t!r} is not an ISO 8601 UTC timestamp", r.details())


@test("cli-watch-signals")
def _():
    # without --count, SIGINT and SIGTERM end the repeated output with exit 0
    d = db()
    for sig in (signal.SIGINT, signal.SIGTERM):
        env = base_env(d)
        p = subprocess.Popen([CFG.tool, "watch", "--interval", "100ms"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
                             start_new_session=True)
        try:
            # wait for the first snapshot
            first = p.stdout.readline()
            check(first.startswith(b"-- "), f"first line {first!r}")
            p.send_signal(sig)
            try:
                rc = p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                raise Fail(f"watch did not exit after {sig.name}")
            eq(rc, 0, f"exit status after {sig.name}")
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
            p.stderr.close()


@test("cli-watch-bad-interval")
def _():
    d = db()
    for bad in ("0", "fast", "50ms", "-1s", "2x", ""):
        expect_usage(run(["watch", "--interval", bad, "--count", "1"], db=d), f"--interval {bad!r}")
    for bad in ("0", "-2", "many"):
        expect_usage(run(["watch", "--count", bad], db=d), f"--count {bad!r}")
    # accepted spellings
    expect_usage(run(["watch", "--interval", "200h", "--count", "1"], db=d), "--interval above 7 days")
    for good in ("100ms", "1", "1s", "1min"):
        r = run(["watch", "--interval", good, "--count", "1"], db=d).ok()
        eq(len(SNAP.findall(r.out)), 1, f"snapshots with --interval {good}", r.details())


@test("cli-watch-connection-failure")
def _():
    r = run(["-h", "/nonexistent", "-p", "1", "watch", "--count", "1"], conn=False)
    expect_error(r, C.EXIT_CONN, "connection to server")


# --- watch keeps going when its connection is lost --------------------------------------

def backend_pids(d, app):
    # asked in the postgres database: D may refuse connections
    return [x["pid"] for x in sql_rows("postgres", "SELECT pid FROM pg_stat_activity WHERE application_name = "
                                          f"'{app}' AND datname = '{d}'")]


def kill_backend(d, app):
    """Terminate the tool's session; return the pid it had."""
    pids = wait_until(lambda: backend_pids(d, app), f"a session with application_name {app}")
    sql_exec(d, f"SELECT pg_terminate_backend({pids[0]})")
    return pids[0]


def read_until(p, pattern, timeout=20.0):
    """Read P's stdout until the text read matches PATTERN; return it."""
    import select as _select
    buf = b""
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while not rx.search(buf.decode(errors="replace")):
        left = deadline - time.monotonic()
        if left <= 0:
            raise Fail(f"timed out waiting for {pattern!r} in the output; got {buf[-500:]!r}")
        r, _, _ = _select.select([p.stdout], [], [], min(left, 0.5))
        if r:
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                raise Fail(f"the tool ended (exit {p.wait()}) before {pattern!r}; got {buf[-500:]!r}")
            buf += chunk
    return buf.decode(errors="replace")


@test("cli-watch-reconnect")
def _():
    d = db()
    app = "pgt_cli_watch_rc"
    env = base_env(d)
    env["PGAPPNAME"] = app
    p = subprocess.Popen([CFG.tool, "watch", "--interval", "200ms"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        read_until(p, r"(?m)^-- .* UTC --$(?s:.*)term_active")
        old = kill_backend(d, app)
        # two more complete snapshots after the session was killed
        read_until(p, r"(?s)(-- [^\n]* UTC --\n.*term_active.*){2}")
        check(p.poll() is None, f"watch ended after losing its connection (exit {p.poll()})")
        new = wait_until(lambda: [x for x in backend_pids(d, app) if x != old], "a new session of watch")
        check(new, "no new session")
        p.send_signal(signal.SIGTERM)
        eq(p.wait(timeout=15), 0, "exit status after SIGTERM")
        err = p.stderr.read().decode(errors="replace")
        # "An error during a redraw is printed on stderr and retried"
        check(err.startswith(C.ERROR_PREFIX), f"stderr does not start with '{C.ERROR_PREFIX}': {err[:300]!r}")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()


@test("cli-watch-tty-reconnect")
def _():
    d = db()
    app = "pgt_cli_watch_tty_rc"
    t = Pty(["watch", "--interval", "200ms"], db=d, env={"PGAPPNAME": app}, rows=30, cols=150)
    try:
        t.expect(r"term_active", what="the first drawing")
        old = kill_backend(d, app)
        wait_until(lambda: [x for x in backend_pids(d, app) if x != old], "watch to reconnect")
        at = len(t.data)
        t.send("\x0c")
        t.expect(r"term_active", since=at, what="the table after reconnecting (Ctrl-L)")
        check(t.rc is None, "watch ended after losing its connection", t.details())
        t.send("q")
        eq(t.wait(), 0, "exit status after q", t.details())
        check_restored(t)
    finally:
        t.close()


@test("cli-conn-application-name")
def _():
    d = db()
    others = (f"SELECT 1 FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = '{d}' "
              "AND backend_type = 'client backend' AND application_name NOT LIKE 'psql%'")
    wait_until(lambda: not sql_rows(d, others), "the sessions of earlier tests to end")
    for appname, want in ((None, "pgtrickle"), ("pgt_cli_custom", "pgt_cli_custom")):
        env = base_env(d)
        if appname:
            env["PGAPPNAME"] = appname
        p = subprocess.Popen([CFG.tool, "watch", "--interval", "200ms"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env,
                             start_new_session=True)
        try:
            read_until(p, r"term_active")
            got = sql_rows(d, f"SELECT application_name FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                              f"AND datname = '{d}' AND backend_type = 'client backend' "
                              f"AND application_name NOT LIKE 'psql%'")
            eq([x["application_name"] for x in got], [want], f"application_name (PGAPPNAME={appname})")
        finally:
            p.terminate()
            p.wait()
            p.stdout.close()
        # its session is gone before the next round looks
        wait_until(lambda: not sql_rows(d, f"SELECT 1 FROM pg_stat_activity WHERE application_name = '{want}'"),
                   f"the session {want} to end")


@test("cli-watch-tty-lost-connection")
def _():
    # The database refuses connections while watch's session is killed: the
    # error is shown (in red) above the last table; once connections are
    # allowed again watch reconnects and the error goes away.
    d = F.database("pgt_watch_lost")
    if not F.st_exists(d, "lost_one"):
        F.create_st(d, "lost_one", F.Q_NORTH)
    app = "pgt_cli_watch_lost"
    t = Pty(["watch", "--interval", "200ms"], db=d, env={"PGAPPNAME": app}, rows=20, cols=120)
    try:
        t.expect_screen(r"^lost_one\s+public\s+ACTIVE", what="the row of lost_one")
        at = len(t.data)
        sql_exec("postgres", f"ALTER DATABASE {d} ALLOW_CONNECTIONS false")
        pids = wait_until(lambda: backend_pids(d, app), "watch's session")
        sql_exec("postgres", f"SELECT pg_terminate_backend({pids[0]})")
        err = re.compile(r"accepting connections|terminating connection|server closed the connection")
        m = t.expect_screen(err.pattern, what="the connection error on the screen")
        lines = t.screen.lines()
        err_row = next(i for i, ln in enumerate(lines) if err.search(ln))
        table_row = next((i for i, ln in enumerate(lines) if ln.startswith("lost_one")), None)
        check(table_row is not None and table_row > err_row,
              f"the last table is not shown below the error ({m.group(0)!r})",
              t.details() + ["screen:"] + ["  | " + ln for ln in lines])
        check(SGR.search(t.data[at:]) and any(b"31" in p.group(1).split(b";")
                                              for p in SGR.finditer(t.data[at:])),
              "the error is not shown in red", t.details())
        check(t.rc is None, "watch ended when the connection was lost", t.details())
        sql_exec("postgres", f"ALTER DATABASE {d} ALLOW_CONNECTIONS true")
        wait_until(lambda: backend_pids(d, app), "watch to reconnect")
        deadline = time.monotonic() + 15
        while err.search(t.screen.text()):
            if time.monotonic() > deadline:
                raise Fail("the error stays on the screen after watch reconnected",
                           t.details() + ["screen:"] + ["  | " + ln for ln in t.screen.lines()])
            t._read(0.2)
        t.expect_screen(r"^lost_one\s+public\s+ACTIVE", what="the row of lost_one after reconnecting")
        t.send("q")
        eq(t.wait(), 0, "exit status after q", t.details())
        check_restored(t)
    finally:
        t.close()
        sql_exec("postgres", f"ALTER DATABASE {d} ALLOW_CONNECTIONS true")
