#!/usr/bin/env python3
"""Seeded random workload driver for pg_trickle stream tables.

For each seed: a fresh database with a few tables (test/random/workload.py)
and one stream table per query of test/random/corpus.py, then ROUNDS rounds
of

 1. concurrent phase: WRITERS threads run random transactions (inserts,
    updates incl. primary and group key changes, deletes, bulk statements,
    duplicate rows, rare TRUNCATEs, savepoints rolled back, whole
    transactions rolled back, and long transactions that commit only after
    a refresh has begun) while a refresher thread refreshes random stream
    tables, a chain upstream first;
 2. quiesce: writers stop; every stream table is refreshed in dependency
    order and checked;
 3. sequential phase: STEPS times a random transaction (sometimes with
    another one left open), then a refresh of random stream tables, each
    checked right after its refresh;

and a final refresh and check of everything.  A check compares the stream
table's visible columns with its defining query as multisets of rows in
text form (both EXCEPT ALL directions), and after a quiesce also requires
pgtrickle.verify_stream_table() to return no rows.  In DIFFERENTIAL mode
every refresh must be recorded as DIFFERENTIAL or NO_DATA in the refresh
history, or as FULL with a reason that mentions a TRUNCATE or the cost.

A case is one (seed, query) pair.  Each failing case prints one line with a
command that reproduces it; the run ends with "N passed, M failed" and
exits non-zero when anything failed.  See docs/testing.md.
"""

import argparse
import collections
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
REPRO_SCRIPT = "python3 test/random/driver.py"


def _bootstrap_psycopg():
    """psycopg is missing: re-run under a virtualenv that has it.

    The virtualenv is $PGT_RANDOM_VENV, else test/random/.venv (git-ignored),
    created with test/random/requirements.txt when it does not exist yet.
    """
    venv = os.environ.get("PGT_RANDOM_VENV") or os.path.join(HERE, ".venv")
    py = os.path.join(venv, "bin", "python")
    req = os.path.join(HERE, "requirements.txt")
    hint = (f"psycopg 3 is not installed for {sys.executable}.  Install it with:\n"
            f"  python3 -m venv {venv} && {venv}/bin/pip install -r {req}\n"
            f"and run {py} {os.path.abspath(__file__)} ...")
    if os.environ.get("PGT_RANDOM_BOOTSTRAPPED"):
        sys.exit(hint)
    try:
        if not os.path.exists(py):
            print(f"driver: psycopg not found; creating {venv} from {req}", file=sys.stderr, flush=True)
            subprocess.run([sys.executable, "-m", "venv", venv], check=True)
            subprocess.run([py, "-m", "pip", "install", "-q", "-r", req], check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"{hint}\n(automatic setup failed: {e})")
    os.environ["PGT_RANDOM_BOOTSTRAPPED"] = "1"
    os.execv(py, [py, os.path.abspath(__file__)] + sys.argv[1:])


try:
    import psycopg
    from psycopg import sql as psql
except ImportError:
    _bootstrap_psycopg()

import corpus      # noqa: E402
import workload    # noqa: E402

# Errors a random writer may run into; its transaction is rolled back and
# the run goes on.  Anything else is reported.
EXPECTED_WRITER_ERRORS = {
    "23505": "unique violation",
    "23503": "foreign key violation",
    "40P01": "deadlock",
    "40001": "serialization failure",
    "55P03": "lock timeout",
}
STATEMENT_TIMEOUT = "180s"
LONG_TX_WAIT = 3.0           # seconds a long transaction waits for a refresh to begin
FULL_OK_REASON = re.compile(
    r"^source .* truncated(, or a partition or child of it attached, detached or dropped)?$"
    r"|^FULL by cost: ")


class Fatal(Exception):
    """The server went away or the run cannot go on for this seed."""


def is_fatal(exc, conn):
    if isinstance(exc, Fatal):
        return True
    if not isinstance(exc, psycopg.Error):
        return False
    if conn is not None and (conn.closed or conn.broken):
        return True
    state = getattr(exc, "sqlstate", None)
    return state is None or state.startswith("08") or state in ("57P01", "57P02", "57P03")


def history_problem(mode, action, status, reason):
    """Why a refresh history row is not acceptable in MODE, or None."""
    if status != "COMPLETED":
        return f"refresh history says status {status} (action {action})"
    if mode != "DIFFERENTIAL":
        return None
    if action in ("DIFFERENTIAL", "NO_DATA"):
        return None
    if action == "FULL" and reason and FULL_OK_REASON.search(reason):
        return None
    return (f"refresh ran {action} (reason {reason!r}); expected DIFFERENTIAL or NO_DATA "
            f"(FULL only after a TRUNCATE or by cost)")


def parse_seeds(text):
    seeds = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(\d+)-(\d+)", part)
        if m:
            seeds.extend(range(int(m.group(1)), int(m.group(2)) + 1))
        elif part.isdigit():
            seeds.append(int(part))
        else:
            raise argparse.ArgumentTypeError(f"bad seed list {text!r} (use 1,2,3 or 1-5)")
    if not seeds:
        raise argparse.ArgumentTypeError("empty seed list")
    return seeds


# --- results ---------------------------------------------------------------------

class Results:
    """Cases ((seed, query id) pairs), their failures, and what refreshes did."""

    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.Lock()
        self.cases = {}                    # (seed, qid) -> first failure or None
        self.more = collections.Counter()  # (seed, qid) -> further failures
        self.history = collections.Counter()  # (mode, action, reason) -> count
        self.detailed = set()              # (message, details) printed already

    def add_case(self, seed, qid):
        with self.lock:
            self.cases.setdefault((seed, qid), None)

    def repro(self, seed, qid, round_):
        o = self.opts
        if qid.startswith("self-test"):
            return f"{REPRO_SCRIPT} --self-test --seed {seed}"
        cmd = f"{REPRO_SCRIPT} --seed {seed}"
        if not qid.startswith("("):
            cmd += f" --query {qid}"
        cmd += f" --rounds {max(round_, 1)}"
        for flag, value, default in (("--mode", o.mode, "DIFFERENTIAL"), ("--writers", o.writers, 3),
                                     ("--refreshers", o.refreshers, 2),
                                     ("--tx", o.tx, 40), ("--steps", o.steps, 3)):
            if value != default:
                cmd += f" {flag} {value}"
        return cmd

    def fail(self, seed, qid, round_, phase, message, details=(), quiet=False):
        message = " ".join(message.split())      # one line per failure
        with self.lock:
            key = (seed, qid)
            if quiet:
                self.cases[key] = self.cases.get(key) or (round_, phase, message)
                return
            if self.cases.get(key) is not None:
                self.more[key] += 1
                if self.more[key] <= 2:
                    print(f"    (seed {seed} {qid} again, round {round_} {phase}: {message})", flush=True)
                return
            self.cases[key] = (round_, phase, message)
            print(f"FAILED seed {seed} query {qid} (round {round_}, {phase}): {message} -- "
                  f"reproduce: {self.repro(seed, qid, round_)}", flush=True)
            # Identical details (the DETAIL and HINT of one error) only once.
            general = (re.sub(r"\bst_\w+", "st_*", message), tuple(details))
            if general not in self.detailed:
                self.detailed.add(general)
                for d in details:
                    print(f"    {d}", flush=True)

    def failed(self, seed, qid):
        return self.cases.get((seed, qid)) is not None

    def note_history(self, mode, action, reason):
        norm = re.sub(r"\d+(\.\d+)?", "N", reason or "")
        with self.lock:
            self.history[(mode, action, norm)] += 1

    def summary(self):
        failed = sorted(k for k, v in self.cases.items() if v is not None)
        passed = len(self.cases) - len(failed)
        if self.history:
            print("\nrefresh history rows seen (mode / action / reason, numbers as N):")
            for (mode, action, reason), n in sorted(self.history.items()):
                print(f"  {n:6d}  {mode:12} {action:12} {reason!r}")
        if failed:
            # Grouped by message: a broken build fails every case the same way.
            groups = collections.defaultdict(list)
            for key in failed:
                groups[re.sub(r"\bst_\w+", "st_*", self.cases[key][2])[:120]].append(key)
            print(f"\nfailed cases ({len(failed)}), by first failure:")
            for message, keys in sorted(groups.items(), key=lambda g: -len(g[1])):
                print(f"  {len(keys)} x {message}")
                for seed, qid in keys[:3]:
                    print(f"      {self.repro(seed, qid, self.cases[(seed, qid)][0])}")
                if len(keys) > 3:
                    print(f"      ... and {len(keys) - 3} more: "
                          + " ".join(f"{s}/{q}" for s, q in keys[3:20]) + (" ..." if len(keys) > 20 else ""))
        print(f"{passed} passed, {len(failed)} failed", flush=True)
        return passed, len(failed)


# --- throwaway cluster -------------------------------------------------------------

def free_port(start):
    for port in range(start, start + 200):
        if any(os.path.exists(f"{d}/.s.PGSQL.{port}") for d in ("/tmp", "/var/run/postgresql")):
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise Fatal(f"no free port between {start} and {start + 200}")


class Cluster:
    """A PostgreSQL cluster of our own in WORKDIR/data, unix socket in WORKDIR."""

    def __init__(self, workdir, pg_config, os_user):
        self.dir = workdir
        self.data = os.path.join(workdir, "data")
        self.logfile = os.path.join(workdir, "server.log")
        self.os_user = os_user
        self.bindir = subprocess.run([pg_config, "--bindir"], check=True, capture_output=True,
                                     text=True).stdout.strip()
        self.port = None

    def _cmd(self, args):
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root: hand over like scripts/lib.sh does.
            return ["runuser", "-u", self.os_user, "--"] + args
        return args

    def _run(self, args, what):
        p = subprocess.run(self._cmd(args), cwd=self.dir, capture_output=True, text=True)
        if p.returncode != 0:
            raise Fatal(f"{what} failed (exit {p.returncode}):\n{p.stdout}{p.stderr}")
        return p

    def init(self):
        self.port = free_port(int(os.environ.get("PGT_RANDOM_PORT", "57310")))
        self._run([f"{self.bindir}/initdb", "-D", self.data, "-A", "trust", "-U", "postgres",
                   "--no-locale", "-E", "UTF8", "--no-sync"], "initdb")
        conf = f"""
# written by test/random/driver.py
shared_preload_libraries = 'pg_trickle'
pg_trickle.enabled = off          # no scheduled refreshes: the driver refreshes
fsync = off
synchronous_commit = off
full_page_writes = off
jit = off
listen_addresses = ''
unix_socket_directories = '{self.dir}'
port = {self.port}
max_connections = 40
deadlock_timeout = '200ms'
lc_messages = 'C'
timezone = 'UTC'
log_timezone = 'UTC'
datestyle = 'iso, mdy'
log_min_messages = warning
log_line_prefix = '%m [%p] %q%a '
"""
        # The server user owns the data directory; append as that user.
        p = subprocess.run(self._cmd(["sh", "-c", f"cat >> '{self.data}/postgresql.conf'"]),
                           input=conf, text=True, cwd=self.dir, capture_output=True)
        if p.returncode != 0:
            raise Fatal(f"could not write postgresql.conf: {p.stderr}")

    def start(self):
        self._run([f"{self.bindir}/pg_ctl", "-D", self.data, "-l", self.logfile, "-w", "-t", "120",
                   "start"], "pg_ctl start")

    def running(self):
        p = subprocess.run(self._cmd([f"{self.bindir}/pg_ctl", "-D", self.data, "status"]),
                           cwd=self.dir, capture_output=True, text=True)
        return p.returncode == 0

    def stop(self, mode="fast"):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            subprocess.run(self._cmd([f"{self.bindir}/pg_ctl", "-D", self.data, "-m", mode, "-w",
                                      "stop"]), cwd=self.dir, capture_output=True, text=True)

    def dsn(self, dbname="postgres"):
        return psycopg.conninfo.make_conninfo(host=self.dir, port=self.port, user="postgres",
                                              dbname=dbname)

    def log_excerpt(self, lines=40):
        try:
            with open(self.logfile, errors="replace") as f:
                text = f.readlines()
        except OSError:
            return []
        crashes = [l.rstrip() for l in text
                   if re.search(r"terminated by signal|was terminated|PANIC|TRAP:|"
                                r"exited with exit code [^01]", l)]
        return crashes[:20] + [l.rstrip() for l in text[-lines:]]


# --- one seed ------------------------------------------------------------------------

class Shared:
    """State shared by the threads of one concurrent phase."""

    def __init__(self):
        self.cond = threading.Condition()
        self.refreshes_started = 0
        self.refreshers_active = 0       # refresher threads still running
        self.writers_done = threading.Event()
        self.abort = threading.Event()
        self.fatal = None
        self.counts = collections.Counter()

        self.truncating = 0              # writer transactions that ran a TRUNCATE, still open
        self.truncates = 0               # TRUNCATE statements started so far

    def count(self, key):
        with self.cond:
            self.counts[key] += 1

    def truncate_mark(self):
        with self.cond:
            return (self.truncating, self.truncates)

    def truncate_overlapped(self, mark):
        """True when a TRUNCATE was open at MARK or has started since."""
        with self.cond:
            return mark[0] > 0 or self.truncating > 0 or self.truncates != mark[1]


class SeedRun:
    def __init__(self, opts, results, seed, admin_dsn, queries, mode, log_dir, count_cases=True):
        self.opts = opts
        self.count_cases = count_cases
        self.results = results
        self.seed = seed
        self.mode = mode
        self.queries = queries
        self.dbname = f"pgt_random_s{seed}"
        self.admin_dsn = admin_dsn
        self.dsn = psycopg.conninfo.make_conninfo(admin_dsn, dbname=self.dbname)
        self.created = []                 # Query objects whose stream table exists, corpus order
        self.created_refresh_id = {}      # qid -> newest refresh_id right after create
        self.seen_refresh_ids = {}        # qid -> refresh_ids seen after a refresh
        self.round = 0
        self.log_lock = threading.Lock()
        self.log = open(os.path.join(log_dir, f"seed-{seed}.log"), "w")

    # -- helpers

    def connect(self, name):
        return psycopg.connect(self.dsn, autocommit=True, application_name=f"pgt-random-{name}",
                               options=f"-c statement_timeout={STATEMENT_TIMEOUT} "
                               "-c extra_float_digits=0")

    def logln(self, tag, text):
        with self.log_lock:
            self.log.write(f"[r{self.round} {tag}] {text}\n")

    def fail(self, q, phase, message, details=()):
        qid = q if isinstance(q, str) else q.id
        self.logln("check", f"FAILED {qid} {phase}: {message}")
        self.results.fail(self.seed, qid, self.round, phase, message, details)

    # -- setup

    def setup(self):
        with psycopg.connect(self.admin_dsn, autocommit=True) as admin:
            admin.execute(psql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                psql.Identifier(self.dbname)))
            admin.execute(psql.SQL("CREATE DATABASE {}").format(psql.Identifier(self.dbname)))
        rng = random.Random(f"{self.seed}:data")
        with self.connect("setup") as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trickle")
            conn.execute(workload.SCHEMA)
            data = workload.initial_data(rng)
            with conn.transaction():
                with conn.cursor() as cur:
                    for table in workload.TABLES:
                        cur.executemany(workload.INSERT[table], data[table])
            conn.execute("ANALYZE")
            for q in self.queries:
                if self.count_cases:
                    self.results.add_case(self.seed, q.id)
                missing = [d for d in q.deps if d not in {c.id for c in self.created}]
                if missing:
                    self.fail(q, "create", f"not created: it reads st_{missing[0]}, which failed")
                    continue
                try:
                    conn.execute("SELECT pgtrickle.create_stream_table(%s, %s, schedule => '1w', "
                                 "refresh_mode => %s)", (q.st, q.sql, self.mode))
                except psycopg.Error as e:
                    if is_fatal(e, conn):
                        raise
                    self.fail(q, "create", f"create_stream_table failed: {e.sqlstate} "
                              f"{str(e).splitlines()[0]}", [l for l in str(e).splitlines()[1:3]])
                    continue
                self.created.append(q)
                self.created_refresh_id[q.id] = self.newest_history(conn, q)[0] or 0
                self.check(conn, q, "after create")

    # -- refresh and checks

    def newest_history(self, conn, q):
        row = conn.execute(
            "SELECT h.refresh_id, h.action, h.status, r.reason "
            "FROM pgtrickle.get_refresh_history(%s, 1) h "
            "LEFT JOIN pgtrickle.pgt_refresh_history r ON r.refresh_id = h.refresh_id",
            (q.st,)).fetchone()
        return row if row else (None, None, None, None)

    def refresh(self, conn, q, phase, tolerate=None):
        """Refresh q and check its history row; False when something is wrong.

        Outside a transaction block the refresh and the look at the history
        run in a transaction of their own: until it commits, no other
        refresh of q can commit, so the newest history row it sees is its own.
        When TOLERATE(error) is true, the error is logged, not reported, and
        "retry" is returned.
        """
        t0 = time.monotonic()
        own_tx = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        try:
            if own_tx:
                conn.execute("BEGIN")
            conn.execute("SELECT pgtrickle.refresh_stream_table(%s)", (q.st,))
            rid, action, status, reason = self.newest_history(conn, q)
            if own_tx:
                conn.execute("COMMIT")
        except psycopg.Error as e:
            if is_fatal(e, conn):
                raise
            if own_tx:
                conn.execute("ROLLBACK")
            if tolerate is not None and tolerate(e):
                self.logln("refresh", f"{q.st}: {e.sqlstate} {str(e).splitlines()[0]} (tolerated)")
                return "retry"
            self.fail(q, phase, f"refresh failed: {e.sqlstate} {str(e).splitlines()[0]}")
            return False
        self.logln("refresh", f"{q.st}: {action} {status} {reason!r} "
                   f"({(time.monotonic() - t0) * 1000:.0f} ms)")
        self.results.note_history(self.mode, action, reason)
        with self.log_lock:
            seen = self.seen_refresh_ids.setdefault(q.id, set())
            new = rid is not None and rid > self.created_refresh_id.get(q.id, 0) and rid not in seen
            seen.add(rid)
        if not new:
            self.fail(q, phase, f"refresh recorded no history row (newest refresh_id {rid})")
            return False
        problem = history_problem(self.mode, action, status, reason)
        if problem:
            self.fail(q, phase, problem)
            return False
        return True

    def visible_columns(self, conn, q):
        rows = conn.execute("SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass "
                            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum", (q.st,)).fetchall()
        return [r[0] for r in rows if not r[0].startswith("__pgt_")]

    def oracle(self, conn, q):
        """None when the stream table equals its query as a multiset, else (message, details)."""
        cols = self.visible_columns(conn, q)
        with conn.cursor() as cur:
            cur.execute(f"SELECT * FROM ({q.sql}) t LIMIT 0")
            qcols = [d.name for d in cur.description]
        if cols != qcols:
            return (f"columns differ: stream table {cols}, query {qcols}", [])
        collist = psql.SQL(", ").join(psql.Identifier(c) for c in cols).as_string(conn)
        st = f"(SELECT {collist} FROM {psql.Identifier(q.st).as_string(conn)}) t"
        dq = f"({q.sql}) t"
        # Sessions run with extra_float_digits = 0 (refreshes must not care);
        # the oracle's text comparison needs every float digit.
        conn.execute("SET extra_float_digits = 1")
        try:
            rows = self.oracle_rows(conn, st, dq)
        finally:
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR:
                conn.execute("SET extra_float_digits = 0")
        if not rows:
            return None
        extra = [r for side, r in rows if side == "extra"]
        missing = [r for side, r in rows if side == "missing"]
        n = conn.execute(f"SELECT count(*) FROM {psql.Identifier(q.st).as_string(conn)}").fetchone()[0]
        details = ([f"extra:   {r}" for r in extra[:5]] + [f"missing: {r}" for r in missing[:5]])
        return (f"oracle: {len(extra)} extra and {len(missing)} missing rows "
                f"(stream table has {n} rows)", details)

    @staticmethod
    def oracle_rows(conn, st, dq):
        return conn.execute(
            f"SELECT 'extra', r FROM (SELECT (t.*)::text AS r FROM {st} "
            f"EXCEPT ALL SELECT (t.*)::text FROM {dq}) x "
            f"UNION ALL "
            f"SELECT 'missing', r FROM (SELECT (t.*)::text AS r FROM {dq} "
            f"EXCEPT ALL SELECT (t.*)::text FROM {st}) y").fetchall()

    def check(self, conn, q, phase):
        problem = self.oracle(conn, q)
        if problem:
            self.fail(q, phase, problem[0], problem[1])
            return False
        return True

    def verify(self, conn, q, phase):
        try:
            rows = conn.execute("SELECT side, row_data::text FROM pgtrickle.verify_stream_table(%s)",
                                (q.st,)).fetchall()
        except psycopg.Error as e:
            if is_fatal(e, conn):
                raise
            self.fail(q, phase, f"verify_stream_table failed: {e.sqlstate} {str(e).splitlines()[0]}")
            return False
        if rows:
            self.fail(q, phase, f"verify_stream_table returned {len(rows)} rows",
                      [f"{s}: {r}" for s, r in rows[:5]])
            return False
        return True

    def refresh_all_and_check(self, phase):
        with self.connect("checker") as conn:
            for q in self.created:
                if self.refresh(conn, q, phase):
                    self.check(conn, q, phase)
            for q in self.created:
                self.verify(conn, q, phase)

    # -- transactions

    def execute_plan(self, conn, plan, tag, shared=None, timing=None, leave_open=False):
        """Run PLAN on CONN.  Returns 'COMMIT', 'ROLLBACK', 'open' or 'error:<sqlstate>'."""
        self.logln(tag, f"BEGIN -- {plan.describe()}")
        truncating = False
        try:
            conn.execute("BEGIN")
            for step in plan.steps:
                if step[0] == "sql":
                    for stmt, params in step[1]:
                        self.logln(tag, f"{stmt}  {params!r}" if params is not None else stmt)
                        if shared is not None and not truncating and stmt.startswith("TRUNCATE"):
                            # Until this transaction ends, a refresh may deadlock with it.
                            truncating = True
                            with shared.cond:
                                shared.truncating += 1
                                shared.truncates += 1
                        if isinstance(params, workload.Copy):
                            with conn.cursor() as cur, cur.copy(stmt) as copy:
                                for row in params.rows:
                                    copy.write_row(row)
                        else:
                            conn.execute(stmt, params)
                        if timing:
                            # Spread the writes out so that refreshes fall between them.
                            time.sleep(timing.uniform(0, 0.01))
                elif step[0] == "savepoint":
                    conn.execute(f"SAVEPOINT {step[1]}")
                elif step[0] == "rollback_to":
                    conn.execute(f"ROLLBACK TO SAVEPOINT {step[1]}")
                elif step[0] == "release":
                    conn.execute(f"RELEASE SAVEPOINT {step[1]}")
                elif step[0] == "wait_refresh" and shared is not None:
                    # Commit only after a refresh has begun: this transaction
                    # was open across (the start of) a refresh.
                    with shared.cond:
                        start = shared.refreshes_started
                        shared.cond.wait_for(lambda: shared.refreshes_started > start
                                             or shared.refreshers_active == 0
                                             or shared.abort.is_set(), timeout=LONG_TX_WAIT)
                    time.sleep(timing.uniform(0, 0.03) if timing else 0)
                if step[0] != "sql":
                    self.logln(tag, " ".join(str(s) for s in step))
            if leave_open:
                self.logln(tag, "(left open)")
                return "open"
            conn.execute(plan.end)
            self.logln(tag, plan.end)
            return plan.end
        except psycopg.Error as e:
            if is_fatal(e, conn):
                raise
            state = e.sqlstate
            self.logln(tag, f"error {state}: {str(e).splitlines()[0]} -- ROLLBACK")
            try:
                conn.execute("ROLLBACK")
            except psycopg.Error as e2:
                if is_fatal(e2, conn):
                    raise
            if state not in EXPECTED_WRITER_ERRORS:
                self.fail("(workload)", tag, f"unexpected error in a writer transaction: {state} "
                          f"{str(e).splitlines()[0]}", [l for l in str(e).splitlines()[1:4]])
            return f"error:{state}"
        finally:
            if truncating:
                with shared.cond:
                    shared.truncating -= 1

    # -- phases

    def writer_main(self, idx, shared):
        tag = f"w{idx}"
        rng = random.Random(f"{self.seed}:{self.round}:{tag}")
        timing = random.Random(f"{self.seed}:{self.round}:{tag}:timing")
        conn = None
        try:
            conn = self.connect(tag)
            for _ in range(self.opts.tx):
                if shared.abort.is_set():
                    break
                plan = workload.random_plan(rng)
                outcome = self.execute_plan(conn, plan, tag, shared, timing)
                shared.count(f"{plan.kind}:{outcome.split(':')[0]}")
                time.sleep(timing.uniform(0, 0.02))
        except Exception as e:   # noqa: BLE001 -- reported, stops the seed
            shared.fatal = shared.fatal or f"writer {tag}: {type(e).__name__}: {e}"
            self.logln(tag, traceback.format_exc())
            shared.abort.set()
        finally:
            if conn is not None:
                conn.close()

    def refresher_main(self, idx, shared):
        tag = f"refresher{idx}"
        rng = random.Random(f"{self.seed}:{self.round}:{tag}")
        timing = random.Random(f"{self.seed}:{self.round}:{tag}:timing")
        created = {q.id for q in self.created}
        conn = None
        try:
            conn = self.connect(tag)
            while self.created and not shared.abort.is_set():
                if shared.writers_done.is_set() and shared.counts["refreshes"] > 0:
                    break
                q = rng.choice(self.created)
                chain = [c for c in corpus.upstream(q.id) if c.id in created] \
                    if rng.random() < 0.5 else [q]
                # Sometimes a whole chain in one transaction: a reader then
                # consumes changes its upstream wrote in the same transaction.
                in_tx = len(chain) > 1 and rng.random() < 0.3
                if in_tx:
                    conn.execute("BEGIN")
                ok = True
                for c in chain:
                    for _ in range(3):
                        with shared.cond:
                            shared.refreshes_started += 1
                            shared.cond.notify_all()
                        # A refresh reads its sources like any query, so it can
                        # deadlock with a concurrent TRUNCATE ... CASCADE that
                        # locks them in another order; that is no engine bug.
                        mark = shared.truncate_mark()
                        ok = self.refresh(
                            conn, c, "concurrent refresh" + (" (chain in one transaction)" if in_tx else ""),
                            tolerate=lambda e, m=mark: e.sqlstate == "40P01" and shared.truncate_overlapped(m))
                        shared.count("refreshes")
                        if ok == "retry":
                            shared.count("refresh deadlocks with TRUNCATE")
                            if not in_tx:
                                continue
                        break
                    if in_tx and ok is not True:
                        break
                if in_tx:
                    conn.execute("COMMIT" if ok is True else "ROLLBACK")
                time.sleep(timing.uniform(0, 0.02))
        except Exception as e:   # noqa: BLE001
            shared.fatal = shared.fatal or f"{tag}: {type(e).__name__}: {e}"
            self.logln(tag, traceback.format_exc())
            shared.abort.set()
        finally:
            with shared.cond:
                shared.refreshers_active -= 1
                shared.cond.notify_all()
            if conn is not None:
                conn.close()

    def concurrent_phase(self):
        shared = Shared()
        shared.refreshers_active = self.opts.refreshers if self.created else 0
        writers = [threading.Thread(target=self.writer_main, args=(i + 1, shared), daemon=True)
                   for i in range(self.opts.writers)]
        refreshers = [threading.Thread(target=self.refresher_main, args=(i + 1, shared), daemon=True)
                      for i in range(self.opts.refreshers)]
        for t in writers + refreshers:
            t.start()
        for t in writers:
            t.join()
        shared.writers_done.set()
        with shared.cond:
            shared.cond.notify_all()
        for t in refreshers:
            t.join()
        if shared.fatal:
            raise Fatal(shared.fatal)
        return shared.counts

    def sequential_phase(self):
        rng = random.Random(f"{self.seed}:{self.round}:sequential")
        counts = collections.Counter()
        with self.connect("seq") as conn, self.connect("seq-open") as pconn:
            # A statement blocked by the open transaction must not wait forever.
            conn.execute("SET lock_timeout = '2s'")
            for step in range(self.opts.steps):
                pending = None
                if rng.random() < 0.4:
                    # A transaction left open across the refreshes below.
                    pending = workload.random_plan(rng, allow_long=False, truncate_rate=0)
                    if self.execute_plan(pconn, pending, "seq-open", leave_open=True) != "open":
                        pending = None
                plan = workload.random_plan(rng, allow_long=False, truncate_rate=0.03)
                phase = f"sequential step {step + 1}"
                in_tx = rng.random() < 0.3
                outcome = self.execute_plan(conn, plan, "seq", leave_open=in_tx)
                if outcome == "open":
                    # Refresh inside the writing transaction: the stream table
                    # must show that transaction's own uncommitted changes.
                    ok = True
                    for q in [q for q in self.created if rng.random() < 0.25]:
                        counts["checks"] += 1
                        ok = self.refresh(conn, q, phase + " (inside the writing transaction)")
                        if not ok:
                            break
                        self.check(conn, q, phase + " (inside the writing transaction)")
                    outcome = plan.end if ok else "ROLLBACK"
                    conn.execute(outcome)
                    self.logln("seq", f"{outcome} (after refreshes inside the transaction)")
                counts[f"{plan.kind}:{outcome.split(':')[0]}"] += 1
                for q in self.created:
                    if rng.random() < 0.5:
                        counts["checks"] += 1
                        if self.refresh(conn, q, phase):
                            self.check(conn, q, phase)
                if pending is not None:
                    pconn.execute(pending.end)
                    self.logln("seq-open", pending.end)
                    counts[f"open:{pending.end}"] += 1
        return counts

    def run(self):
        t0 = time.monotonic()
        self.setup()
        print(f"seed {self.seed}: {len(self.created)} of {len(self.queries)} stream tables created "
              f"({self.mode})", flush=True)
        for self.round in range(1, self.opts.rounds + 1):
            t1 = time.monotonic()
            counts = self.concurrent_phase()
            self.refresh_all_and_check("after quiesce")
            seq = self.sequential_phase()
            txs = {k: v for k, v in counts.items() if ":" in k}
            with self.connect("sizes") as conn:
                sizes = conn.execute("SELECT " + ", ".join(
                    f"(SELECT count(*) FROM {t})" for t in workload.TABLES)).fetchone()
            print(f"seed {self.seed} round {self.round}: concurrent {sum(txs.values())} tx "
                  f"({fmt_counts(txs)}), {counts['refreshes']} refreshes"
                  + (f" ({counts['refresh deadlocks with TRUNCATE']} deadlocked with a TRUNCATE)"
                     if counts['refresh deadlocks with TRUNCATE'] else "") + "; "
                  f"sequential {seq['checks']} refresh+checks; rows: "
                  + " ".join(f"{t} {n}" for t, n in zip(workload.TABLES, sizes))
                  + f"; {time.monotonic() - t1:.1f}s", flush=True)
        self.round = self.opts.rounds
        self.refresh_all_and_check("final check")
        print(f"seed {self.seed}: done in {time.monotonic() - t0:.1f}s", flush=True)

    def drop(self):
        with psycopg.connect(self.admin_dsn, autocommit=True) as admin:
            admin.execute(psql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                psql.Identifier(self.dbname)))


def fmt_counts(c):
    return ", ".join(f"{k} {v}" for k, v in sorted(c.items()))


# --- self-test of the oracle ---------------------------------------------------------

# (query id, what is done to its stream table behind the extension's back).
SELF_TESTS = [
    ("j01_join2", "delete one row",
     "DELETE FROM {st} WHERE ctid IN (SELECT ctid FROM {st} LIMIT 1)"),
    ("p08_keyless_all", "duplicate one row",
     "INSERT INTO {st} ({cols}) SELECT {cols} FROM {st} LIMIT 1"),
    ("a02_sum_avg_min_max", "change one value",
     "UPDATE {st} SET total = total + 0.01 WHERE ctid IN "
     "(SELECT ctid FROM {st} WHERE total IS NOT NULL LIMIT 1)"),
    ("a03_minmax_text", "same number, other scale (12.50 -> 12.500)",
     "UPDATE {st} SET cheapest = cheapest * 1.0 WHERE ctid IN "
     "(SELECT ctid FROM {st} WHERE cheapest IS NOT NULL LIMIT 1)"),
    ("p01_projection", "NULL -> empty string",
     "UPDATE {st} SET tier = '' WHERE ctid IN (SELECT ctid FROM {st} WHERE tier IS NULL LIMIT 1)"),
    ("p09_odd_names", "change a column named \"select\" (alias t, column t)",
     "UPDATE {st} SET \"select\" = 'tampered' WHERE ctid IN (SELECT ctid FROM {st} LIMIT 1)"),
    ("a08_no_group_empty", "change the single row of an aggregate without GROUP BY",
     "UPDATE {st} SET n = n + 1"),
    ("d02_distinct_keyless", "delete the all-NULL group",
     "DELETE FROM {st} WHERE kind IS NULL AND flag IS NULL"),
]


def self_test(opts, results, admin_dsn, log_dir):
    """Tamper with stream tables and require the oracle to notice."""
    seed = opts.seed_list[0]
    ids = [t[0] for t in SELF_TESTS]
    run = SeedRun(opts, results, seed, admin_dsn, corpus.closure(ids), "FULL", log_dir,
                  count_cases=False)
    run.setup()
    created = {q.id for q in run.created}
    with run.connect("self-test") as conn:
        for qid, what, tamper in SELF_TESTS:
            case = f"self-test:{qid}"
            results.add_case(seed, case)
            if qid not in created:
                run.fail(case, "setup", "stream table was not created")
                continue
            q = corpus.BY_ID[qid]
            if not run.refresh(conn, q, "self-test") or run.oracle(conn, q) is not None:
                run.fail(case, "before tampering", "oracle reports a difference on an untouched "
                         "stream table: " + str(run.oracle(conn, q)))
                continue
            cols = psql.SQL(", ").join(psql.Identifier(c) for c in run.visible_columns(conn, q))
            stmt = tamper.format(st=psql.Identifier(q.st).as_string(conn), cols=cols.as_string(conn))
            # the guard cannot be disabled; a superuser gets past the event
            # trigger that refuses it
            with conn.transaction():
                conn.execute("ALTER EVENT TRIGGER pgtrickle_guard_ddl_start DISABLE")
                conn.execute(f"ALTER TABLE {q.st} DISABLE TRIGGER pgt_write_guard")
                n = conn.execute(stmt).rowcount
                conn.execute(f"ALTER TABLE {q.st} ENABLE ALWAYS TRIGGER pgt_write_guard")
                conn.execute("ALTER EVENT TRIGGER pgtrickle_guard_ddl_start ENABLE")
            if n < 1:
                run.fail(case, "tampering", f"tampering ({what}) changed no row: {stmt}")
                continue
            problem = run.oracle(conn, q)
            if problem is None:
                run.fail(case, "after tampering", f"oracle did NOT notice: {what} ({stmt})")
                continue
            print(f"self-test {qid}: {what}: detected: {problem[0]}", flush=True)
            for d in problem[1]:
                print(f"    {d}")
            # And a refresh (FULL) repairs it.
            if run.refresh(conn, q, "self-test repair") and run.oracle(conn, q) is not None:
                run.fail(case, "after repair", "oracle still reports a difference after a FULL refresh")
    # The rule for refresh history rows.
    case = "self-test:history-rule"
    results.add_case(seed, case)
    rules = [
        (("DIFFERENTIAL", "DIFFERENTIAL", "COMPLETED", "change set 3% of source"), True),
        (("DIFFERENTIAL", "NO_DATA", "COMPLETED", "no pending change"), True),
        (("DIFFERENTIAL", "FULL", "COMPLETED", "source orders truncated"), True),
        (("DIFFERENTIAL", "FULL", "COMPLETED", "FULL by cost: change set 60% of source items"), True),
        (("DIFFERENTIAL", "FULL", "COMPLETED", "configured FULL"), False),
        (("DIFFERENTIAL", "FULL", "COMPLETED", None), False),
        (("DIFFERENTIAL", "REINITIALIZE", "COMPLETED", "query changed"), False),
        (("DIFFERENTIAL", "DIFFERENTIAL", "FAILED", "x"), False),
        (("FULL", "FULL", "COMPLETED", "configured FULL"), True),
    ]
    wrong = [args for args, ok in rules if (history_problem(*args) is None) != ok]
    if wrong:
        run.fail(case, "history rule", f"history_problem() misjudges {wrong}")
    run.log.close()
    return run


# --- main ----------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Seeded random workload against pg_trickle stream tables, checked by an "
                    "independent oracle.  See docs/testing.md.")
    p.add_argument("--seed", type=int, help="run this one seed")
    p.add_argument("--seeds", type=parse_seeds, default=None,
                   help="seeds to run: 1,2,3 or 1-5 (default 1,2,3)")
    p.add_argument("--query", action="append", default=[],
                   help="only this query id (repeatable, or comma-separated); the stream tables "
                        "it reads are created and checked too")
    p.add_argument("--rounds", type=int, default=5, help="rounds per seed (default 5)")
    p.add_argument("--writers", type=int, default=3, help="concurrent writer threads (default 3)")
    p.add_argument("--refreshers", type=int, default=2,
                   help="concurrent refresher threads (default 2)")
    p.add_argument("--tx", type=int, default=40,
                   help="transactions per writer per round (default 40)")
    p.add_argument("--steps", type=int, default=3,
                   help="sequential steps per round, each refreshing and checking (default 3)")
    p.add_argument("--mode", type=str.upper, choices=("DIFFERENTIAL", "FULL"), default="DIFFERENTIAL",
                   help="refresh_mode of the stream tables (default DIFFERENTIAL)")
    p.add_argument("--self-test", action="store_true",
                   help="tamper with stream tables and check that the oracle notices")
    p.add_argument("--keep", action="store_true",
                   help="keep the cluster running and the work directory")
    p.add_argument("--dsn", help="use this existing server (a superuser connection) instead of "
                                 "starting a cluster; databases pgt_random_s<seed> are (re)created")
    p.add_argument("--workdir", help="directory for the cluster and logs (default: a new /tmp/pgt-random.*)")
    p.add_argument("--pg-config", default=os.environ.get("PG_CONFIG") or
                   f"/usr/lib/postgresql/{os.environ.get('PG_MAJOR', '15')}/bin/pg_config")
    p.add_argument("--os-user", default=os.environ.get("PGT_OS_USER", "postgres"),
                   help="OS user that runs the server when the driver runs as root (default postgres)")
    p.add_argument("--list", action="store_true", help="list the query corpus and exit")
    opts = p.parse_args(argv)
    if opts.seed is not None and opts.seeds is not None:
        p.error("use --seed or --seeds, not both")
    opts.seed_list = [opts.seed] if opts.seed is not None else (opts.seeds or [1, 2, 3])
    ids = [i.strip() for arg in opts.query for i in arg.split(",") if i.strip()]
    unknown = [i for i in ids if i not in corpus.BY_ID]
    if unknown:
        p.error(f"unknown query id(s) {', '.join(unknown)} (see --list)")
    opts.query_ids = ids
    if min(opts.rounds, opts.writers, opts.tx, opts.refreshers) < 1 or opts.steps < 0:
        p.error("--rounds, --writers, --refreshers and --tx must be at least 1, --steps at least 0")
    return opts


def main(argv):
    opts = parse_args(argv)
    if opts.list:
        for q in corpus.CORPUS:
            print(f"{q.id:26} {q.comment}" + (f" [reads {', '.join(q.deps)}]" if q.deps else ""))
        print(f"{len(corpus.CORPUS)} queries")
        return 0
    queries = corpus.closure(opts.query_ids) if opts.query_ids else list(corpus.CORPUS)
    results = Results(opts)
    t0 = time.monotonic()

    own_workdir = opts.workdir is None
    workdir = opts.workdir or tempfile.mkdtemp(prefix="pgt-random.", dir="/tmp")
    os.makedirs(workdir, exist_ok=True)
    if os.geteuid() == 0 and not opts.dsn:
        shutil.chown(workdir, user=opts.os_user)
    log_dir = workdir
    cluster = None
    cluster_started = False     # only a cluster this run created is stopped
    ok = False

    def on_signal(signum, _frame):
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)

    try:
        if opts.dsn:
            admin_dsn = opts.dsn
        else:
            cluster = Cluster(workdir, opts.pg_config, opts.os_user)
            try:
                if os.path.exists(cluster.data):
                    raise Fatal(f"{cluster.data} exists already; remove it or use another --workdir")
                cluster.init()
                cluster_started = True
                cluster.start()
            except (Fatal, OSError, subprocess.CalledProcessError) as e:
                print(f"driver: could not start a cluster in {workdir}: {e}", flush=True)
                for line in cluster.log_excerpt(30):
                    print(f"    {line}")
                for seed in opts.seed_list:
                    for qid in ["self-test"] if opts.self_test else [q.id for q in queries]:
                        results.add_case(seed, qid)
                        results.fail(seed, qid, 0, "setup", "no server", quiet=True)
                print(f"FAILED: every case ({len(results.cases)}): no server", flush=True)
                results.summary()
                return 1
            admin_dsn = cluster.dsn()
            print(f"driver: cluster in {workdir} (port {cluster.port})", flush=True)
        if opts.self_test:
            print(f"driver: self-test of the oracle (FULL mode, seed {opts.seed_list[0]}, "
                  f"{len(SELF_TESTS)} tampered stream tables)", flush=True)
        else:
            print(f"driver: mode {opts.mode}, seeds {','.join(map(str, opts.seed_list))}, "
                  f"{len(queries)} queries, {opts.rounds} rounds, {opts.writers} writers x {opts.tx} tx, "
                  f"{opts.refreshers} refreshers, "
                  f"{opts.steps} sequential steps", flush=True)

        if opts.self_test:
            runs = []
            try:
                runs.append(self_test(opts, results, admin_dsn, log_dir))
            except Exception as e:   # noqa: BLE001
                results.add_case(opts.seed_list[0], "self-test")
                results.fail(opts.seed_list[0], "self-test", 0, "setup", f"{type(e).__name__}: {e}")
                traceback.print_exc()
        else:
            runs = []
            for seed in opts.seed_list:
                run = SeedRun(opts, results, seed, admin_dsn, queries, opts.mode, log_dir)
                runs.append(run)
                try:
                    run.run()
                except Exception as e:   # noqa: BLE001 -- the seed is lost, the next one runs
                    msg = f"seed aborted in round {run.round}: {type(e).__name__}: {str(e).strip()[:300]}"
                    print(f"driver: {msg}", flush=True)
                    if not isinstance(e, (Fatal, psycopg.Error)):
                        traceback.print_exc()
                    for q in queries:
                        results.add_case(seed, q.id)
                        if not results.failed(seed, q.id):
                            results.fail(seed, q.id, run.round, "aborted", msg)
                    if cluster is not None:
                        for line in cluster.log_excerpt(30):
                            print(f"    server log: {line}")
                        if not cluster.running():
                            print("driver: the server is down; restarting it for the next seed", flush=True)
                            try:
                                cluster.start()
                            except Fatal as e2:
                                print(f"driver: restart failed: {e2}", flush=True)
                                break
                finally:
                    run.log.close()
        passed, failed = results.summary()
        print(f"driver: {time.monotonic() - t0:.0f}s; logs in {log_dir}"
              + ("" if failed or opts.keep or not own_workdir else " (removed)"), flush=True)
        ok = failed == 0 and passed > 0
        if opts.dsn and ok and not opts.keep:
            for run in runs:
                run.drop()
        return 0 if ok else 1
    finally:
        if cluster is not None and cluster_started:
            if opts.keep:
                print(f"driver: server kept running: psql -h {workdir} -p {cluster.port} -U postgres "
                      f"-d pgt_random_s{opts.seed_list[0]}  (stop: pg_ctl -D {cluster.data} stop)")
            else:
                cluster.stop()
        if own_workdir and ok and not opts.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
