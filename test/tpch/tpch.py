#!/usr/bin/env python3
"""TPC-H correctness suite for pg_trickle: the 22 queries as DIFFERENTIAL stream tables.

Generates the TPC-H data with tpchgen-cli (SF 0.01 by default), loads it
with COPY into a throwaway cluster (test/tpch/schema.sql, then the keys and
indexes of test/tpch/indexes.sql), creates one DIFFERENTIAL stream table per
query of test/tpch/queries/, then runs seeded random rounds.  Each round:

 1. concurrent phase: a writer thread commits small transactions (RF1 new
    orders with their lineitems, RF2 deleted orders, updates) while the main
    thread refreshes every stream table; each refresh must be recorded as
    DIFFERENTIAL or NO_DATA in the refresh history (no silent FULL);
 2. quiesce: the writer stops; every stream table is refreshed and checked;
 3. sequential phase: one larger change set in one transaction (RF1, RF2,
    price, quantity, status and key updates), then every stream table is
    refreshed and checked.

A check compares the stream table (columns __pgt_* ignored) with its query
as multisets of rows in text form (EXCEPT ALL both ways).

REFUSED lists the queries that create_stream_table refuses today with the
error each gets.  A listed query that is accepted, an unlisted one that is
refused, or a listed one refused with another error fails: trim the list as
the constructs land.

One case per query; the run ends with "N passed, M failed".  See
test/tpch/README.md and docs/testing.md.
"""

import argparse
import datetime
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "random"))

import psycopg                      # noqa: E402
from psycopg import sql as psql     # noqa: E402

from driver import Cluster, Fatal, is_fatal   # noqa: E402  (test/random/driver.py)

TABLES = ["region", "nation", "part", "supplier", "partsupp", "customer", "orders", "lineitem"]
QUERIES = [f"q{i:02d}" for i in range(1, 23)]

# Queries create_stream_table refuses today, with the SQLSTATE and the
# DETAIL of the refusal.  Trim this list as the constructs land: a listed query that is
# accepted fails the suite.
REFUSED = {
}

STATEMENT_TIMEOUT = "300s"
CURRENT_DATE = datetime.date(1995, 6, 17)      # the specification's CURRENTDATE
START_DATE = datetime.date(1992, 1, 1)
END_DATE = datetime.date(1998, 12, 31)
SHIPINSTRUCT = ["DELIVER IN PERSON", "COLLECT COD", "NONE", "TAKE BACK RETURN"]
SHIPMODE = ["REG AIR", "AIR", "RAIL", "SHIP", "TRUCK", "MAIL", "FOB"]
PRIORITY = ["1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW"]
SEGMENT = ["AUTOMOBILE", "BUILDING", "FURNITURE", "MACHINERY", "HOUSEHOLD"]
WORDS = ["furiously", "special", "requests", "pending", "deposits", "Customer", "Complaints",
         "final", "ironic", "accounts", "slyly", "carefully"]


def read_query(qid):
    with open(os.path.join(HERE, "queries", f"{qid}.sql")) as f:
        lines = [l for l in f.read().splitlines() if not l.lstrip().startswith("--")]
    return "\n".join(lines).strip().rstrip(";")


def history_problem(action, status, reason):
    if status != "COMPLETED":
        return f"refresh history says status {status} (action {action}, reason {reason!r})"
    if action not in ("DIFFERENTIAL", "NO_DATA"):
        return f"refresh ran {action} (reason {reason!r}); expected DIFFERENTIAL or NO_DATA"
    return None


class Workload:
    """Random TPC-H changes: the specification's RF1 and RF2 plus updates."""

    def __init__(self, conn):
        self.lock = threading.Lock()
        self.next_orderkey = conn.execute("SELECT max(o_orderkey) + 1 FROM tpch.orders").fetchone()[0]
        self.price = dict(conn.execute("SELECT p_partkey, p_retailprice FROM tpch.part").fetchall())
        self.supp_of = {}
        for pk, sk in conn.execute("SELECT ps_partkey, ps_suppkey FROM tpch.partsupp"):
            self.supp_of.setdefault(pk, []).append(sk)
        self.parts = sorted(self.supp_of)
        self.ncust = conn.execute("SELECT max(c_custkey) FROM tpch.customer").fetchone()[0]
        self.nsupp = conn.execute("SELECT max(s_suppkey) FROM tpch.supplier").fetchone()[0]

    def comment(self, rng, n):
        return " ".join(rng.choice(WORDS) for _ in range(n))

    def new_orders(self, rng, k):
        """RF1: K new orders with 1 to 7 lineitems each (rows for two INSERTs)."""
        orders, items = [], []
        with self.lock:
            first = self.next_orderkey
            self.next_orderkey += k
        for okey in range(first, first + k):
            odate = START_DATE + datetime.timedelta(days=rng.randrange((END_DATE - START_DATE).days - 151))
            total = 0
            statuses = set()
            for line in range(1, rng.randint(1, 7) + 1):
                pk = rng.choice(self.parts)
                sk = rng.choice(self.supp_of[pk])
                qty = rng.randint(1, 50)
                ext = qty * self.price[pk]
                disc = rng.randint(0, 10) / 100
                tax = rng.randint(0, 8) / 100
                ship = odate + datetime.timedelta(days=rng.randint(1, 121))
                commit = odate + datetime.timedelta(days=rng.randint(30, 90))
                receipt = ship + datetime.timedelta(days=rng.randint(1, 30))
                flag = rng.choice("RA") if receipt <= CURRENT_DATE else "N"
                status = "O" if ship > CURRENT_DATE else "F"
                statuses.add(status)
                total += float(ext) * (1 + tax) * (1 - disc)
                items.append((okey, pk, sk, line, qty, ext, disc, tax, flag, status, ship, commit,
                              receipt, rng.choice(SHIPINSTRUCT), rng.choice(SHIPMODE),
                              self.comment(rng, 3)))
            ostatus = "F" if statuses == {"F"} else "O" if statuses == {"O"} else "P"
            orders.append((okey, rng.randint(1, self.ncust), ostatus, round(total, 2), odate,
                           rng.choice(PRIORITY), f"Clerk#{rng.randint(1, 10):09d}", 0,
                           self.comment(rng, rng.randint(2, 6))))
        return orders, items

    def statements(self, rng, k):
        """A list of (sql, params) for one transaction of about K changed orders."""
        out = []
        kinds = rng.sample(["rf1", "rf2", "price", "qty", "status", "okey", "lkey", "cust", "supp",
                            "part", "ps"], rng.randint(2, 6))
        if "rf1" in kinds or rng.random() < 0.5:
            orders, items = self.new_orders(rng, max(1, k))
            out.append(("INSERT INTO tpch.orders VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", orders))
            out.append(("INSERT INTO tpch.lineitem VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                        "%s, %s, %s, %s, %s, %s)", items))
        if "rf2" in kinds or rng.random() < 0.5:
            # RF2: orders picked at random, deleted with their lineitems
            sample = f"(SELECT o_orderkey FROM tpch.orders TABLESAMPLE BERNOULLI (5) REPEATABLE ({rng.randrange(1 << 30)}) LIMIT {max(1, k)})"
            out.append((f"CREATE TEMP TABLE IF NOT EXISTS rf2_keys (k bigint); TRUNCATE rf2_keys; "
                        f"INSERT INTO rf2_keys {sample}", None))
            out.append(("DELETE FROM tpch.lineitem WHERE l_orderkey IN (SELECT k FROM rf2_keys)", None))
            out.append(("DELETE FROM tpch.orders WHERE o_orderkey IN (SELECT k FROM rf2_keys)", None))
        seed = rng.randrange(1 << 30)
        lsample = f"TABLESAMPLE BERNOULLI (1) REPEATABLE ({seed})"
        if "price" in kinds:
            out.append((f"UPDATE tpch.lineitem SET l_extendedprice = round(l_extendedprice * (0.8 + 0.4 * random())::numeric, 2), "
                        f"l_discount = round((random() * 0.1)::numeric, 2) "
                        f"WHERE (l_orderkey, l_linenumber) IN (SELECT l_orderkey, l_linenumber FROM tpch.lineitem {lsample} LIMIT {2 * k})", None))
        if "qty" in kinds:
            out.append((f"UPDATE tpch.lineitem SET l_quantity = 1 + floor(random() * 50), "
                        f"l_receiptdate = l_receiptdate + (floor(random() * 21) - 10)::int "
                        f"WHERE (l_orderkey, l_linenumber) IN (SELECT l_orderkey, l_linenumber FROM tpch.lineitem {lsample} LIMIT {2 * k})", None))
        if "status" in kinds:
            out.append((f"UPDATE tpch.orders SET o_orderstatus = (ARRAY['F','O','P'])[1 + floor(random() * 3)::int], "
                        f"o_orderpriority = (ARRAY{PRIORITY!r}::text[])[1 + floor(random() * 5)::int], "
                        f"o_comment = CASE WHEN random() < 0.3 THEN left('special requests ' || o_comment, 79) ELSE o_comment END "
                        f"WHERE o_orderkey IN (SELECT o_orderkey FROM tpch.orders TABLESAMPLE BERNOULLI (2) REPEATABLE ({seed}) LIMIT {k})", None))
            out.append((f"UPDATE tpch.lineitem SET l_returnflag = (ARRAY['R','A','N'])[1 + floor(random() * 3)::int], "
                        f"l_linestatus = (ARRAY['O','F'])[1 + floor(random() * 2)::int], "
                        f"l_shipmode = (ARRAY{SHIPMODE!r}::text[])[1 + floor(random() * 7)::int] "
                        f"WHERE (l_orderkey, l_linenumber) IN (SELECT l_orderkey, l_linenumber FROM tpch.lineitem {lsample} LIMIT {k})", None))
        if "okey" in kinds:
            # orders move to another customer, some to a date in another year
            out.append((f"UPDATE tpch.orders SET o_custkey = 1 + floor(random() * {self.ncust})::int, "
                        f"o_orderdate = CASE WHEN random() < 0.5 THEN o_orderdate + 365 ELSE o_orderdate END "
                        f"WHERE o_orderkey IN (SELECT o_orderkey FROM tpch.orders TABLESAMPLE BERNOULLI (2) REPEATABLE ({seed + 1}) LIMIT {k})", None))
        if "lkey" in kinds:
            # lineitems move to another (part, supplier) pair of partsupp
            out.append((f"UPDATE tpch.lineitem l SET l_partkey = ps.ps_partkey, l_suppkey = ps.ps_suppkey "
                        f"FROM (SELECT ps_partkey, ps_suppkey, row_number() OVER () AS n FROM "
                        f"(SELECT * FROM tpch.partsupp TABLESAMPLE BERNOULLI (2) REPEATABLE ({seed}) LIMIT {k}) s) ps, "
                        f"(SELECT l_orderkey, l_linenumber, row_number() OVER () AS n FROM "
                        f"(SELECT * FROM tpch.lineitem {lsample} LIMIT {k}) s) x "
                        f"WHERE ps.n = x.n AND l.l_orderkey = x.l_orderkey AND l.l_linenumber = x.l_linenumber", None))
        if "cust" in kinds:
            out.append((f"UPDATE tpch.customer SET c_acctbal = round((random() * 11000 - 1000)::numeric, 2), "
                        f"c_mktsegment = (ARRAY{SEGMENT!r}::text[])[1 + floor(random() * 5)::int], "
                        f"c_nationkey = CASE WHEN random() < 0.3 THEN floor(random() * 25)::int ELSE c_nationkey END "
                        f"WHERE c_custkey IN (SELECT c_custkey FROM tpch.customer TABLESAMPLE BERNOULLI (2) REPEATABLE ({seed}) LIMIT {k})", None))
        if "supp" in kinds:
            out.append((f"UPDATE tpch.supplier SET s_nationkey = floor(random() * 25)::int, "
                        f"s_comment = CASE WHEN random() < 0.5 THEN left('Customer Complaints ' || s_comment, 101) ELSE 'ok' END "
                        f"WHERE s_suppkey = {rng.randint(1, self.nsupp)}", None))
        if "part" in kinds:
            out.append((f"UPDATE tpch.part SET p_type = CASE WHEN random() < 0.5 THEN left('PROMO ' || p_type, 25) ELSE 'ECONOMY ANODIZED STEEL' END, "
                        f"p_size = (ARRAY[15, 49, 14, 23, 3])[1 + floor(random() * 5)::int], "
                        f"p_brand = (ARRAY['Brand#12', 'Brand#23', 'Brand#34', 'Brand#45'])[1 + floor(random() * 4)::int] "
                        f"WHERE p_partkey IN (SELECT p_partkey FROM tpch.part TABLESAMPLE BERNOULLI (2) REPEATABLE ({seed}) LIMIT {k})", None))
        if "ps" in kinds:
            out.append((f"UPDATE tpch.partsupp SET ps_supplycost = round((1 + random() * 999)::numeric, 2), "
                        f"ps_availqty = floor(random() * 10000)::int "
                        f"WHERE (ps_partkey, ps_suppkey) IN (SELECT ps_partkey, ps_suppkey FROM tpch.partsupp TABLESAMPLE BERNOULLI (2) REPEATABLE ({seed}) LIMIT {k})", None))
        return out


def run_statements(conn, stmts):
    with conn.transaction():
        with conn.cursor() as cur:
            for sql, params in stmts:
                if params is None:
                    cur.execute(sql)
                elif params:
                    cur.executemany(sql, params)


class Suite:
    def __init__(self, opts, dsn, queries):
        self.opts = opts
        self.dsn = dsn
        self.queries = queries
        self.sql = {q: read_query(q) for q in queries}
        self.failed = {}            # qid -> first failure
        self.created = []
        self.round = 0
        self.refreshes = 0
        self.writer_tx = 0

    def connect(self, name):
        return psycopg.connect(self.dsn, autocommit=True, application_name=f"pgt-tpch-{name}",
                               options=f"-c statement_timeout={STATEMENT_TIMEOUT}")

    def fail(self, q, phase, message, details=()):
        if q in self.failed:
            return
        self.failed[q] = message
        print(f"FAILED {q} (seed {self.opts.seed}, round {self.round}, {phase}): "
              f"{' '.join(message.split())}", flush=True)
        for d in details:
            print(f"    {d}", flush=True)

    # -- data

    def load(self, datadir):
        with self.connect("load") as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trickle")
            with open(os.path.join(HERE, "schema.sql")) as f:
                conn.execute(f.read())
            for t in TABLES:
                with conn.cursor() as cur:
                    with cur.copy(f"COPY tpch.{t} FROM STDIN WITH (FORMAT csv, HEADER)") as copy:
                        with open(os.path.join(datadir, f"{t}.csv"), "rb") as f:
                            while chunk := f.read(1 << 20):
                                copy.write(chunk)
            with open(os.path.join(HERE, "indexes.sql")) as f:
                conn.execute(f.read())
            conn.execute("VACUUM ANALYZE")
            conn.execute("CREATE SCHEMA tpch_st")

    # -- stream tables

    def st(self, q):
        return f"tpch_st.{q}"

    def create(self):
        with self.connect("create") as conn:
            for q in self.queries:
                try:
                    conn.execute("SELECT pgtrickle.create_stream_table(%s, %s, schedule => '1w', "
                                 "refresh_mode => 'DIFFERENTIAL')", (self.st(q), self.sql[q]))
                except psycopg.Error as e:
                    if is_fatal(e, conn):
                        raise
                    got = (e.sqlstate, e.diag.message_detail or str(e).splitlines()[0])
                    want = REFUSED.get(q)
                    if want is None:
                        self.fail(q, "create", f"refused but not listed in REFUSED: {got[0]} {got[1]}")
                    elif got != want:
                        self.fail(q, "create", f"refused with another error than listed: "
                                  f"{got[0]} {got[1]} (listed: {want[0]} {want[1]})")
                    else:
                        print(f"refused as listed: {q}: {got[0]} {got[1]}", flush=True)
                    continue
                if q in REFUSED:
                    self.fail(q, "create", "accepted, but listed in REFUSED: remove it from the list "
                              "in test/tpch/tpch.py")
                    conn.execute("SELECT pgtrickle.drop_stream_table(%s)", (self.st(q),))
                    continue
                self.created.append(q)
                self.check(conn, q, "after create")

    def newest_history(self, conn, q):
        row = conn.execute(
            "SELECT h.refresh_id, h.action, h.status, r.reason "
            "FROM pgtrickle.get_refresh_history(%s, 1) h "
            "LEFT JOIN pgtrickle.pgt_refresh_history r ON r.refresh_id = h.refresh_id",
            (self.st(q),)).fetchone()
        return row if row else (None, None, None, None)

    def refresh(self, conn, q, phase):
        """Refresh Q; its history row must say DIFFERENTIAL or NO_DATA."""
        if q in self.failed:
            return False
        try:
            with conn.transaction():
                before = self.newest_history(conn, q)[0]
                conn.execute("SELECT pgtrickle.refresh_stream_table(%s)", (self.st(q),))
                rid, action, status, reason = self.newest_history(conn, q)
        except psycopg.Error as e:
            if is_fatal(e, conn):
                raise
            self.fail(q, phase, f"refresh failed: {e.sqlstate} {str(e).splitlines()[0]}")
            return False
        self.refreshes += 1
        if rid is None or rid == before:
            self.fail(q, phase, f"refresh recorded no history row (newest refresh_id {rid})")
            return False
        problem = history_problem(action, status, reason)
        if problem:
            self.fail(q, phase, problem)
            return False
        return True

    def check(self, conn, q, phase):
        rows = self.difference(conn, q)
        if rows:
            extra = [r for side, r in rows if side == "extra"]
            missing = [r for side, r in rows if side == "missing"]
            self.fail(q, phase, f"oracle: {len(extra)} extra and {len(missing)} missing rows",
                      [f"extra:   {r}" for r in extra[:5]] + [f"missing: {r}" for r in missing[:5]])
            return False
        return True

    def difference(self, conn, q):
        """Rows ('extra' or 'missing', row as text) where the stream table and its query differ."""
        cols = [r[0] for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped AND attname NOT LIKE '\\_\\_pgt\\_%%' ORDER BY attnum",
            (self.st(q),)).fetchall()]
        collist = ", ".join(psql.Identifier(c).as_string(conn) for c in cols)
        st = f"(SELECT {collist} FROM {self.st(q)}) t"
        dq = f"({self.sql[q]}) t"
        rows = conn.execute(
            f"SELECT 'extra', r FROM (SELECT (t.*)::text AS r FROM {st} "
            f"EXCEPT ALL SELECT (t.*)::text FROM {dq}) x "
            f"UNION ALL "
            f"SELECT 'missing', r FROM (SELECT (t.*)::text AS r FROM {dq} "
            f"EXCEPT ALL SELECT (t.*)::text FROM {st}) y").fetchall()
        return rows

    def self_test(self):
        """The oracle must be able to fail: change one value of the first stream
        table behind the extension's back (in a transaction rolled back
        afterwards) and require the check to notice."""
        if not self.created:
            return
        q = self.created[0]
        with self.connect("self-test") as conn:
            conn.execute("BEGIN")
            try:
                conn.execute("ALTER EVENT TRIGGER pgtrickle_guard_ddl_start DISABLE")
                conn.execute(f"ALTER TABLE {self.st(q)} DISABLE TRIGGER pgt_write_guard")
                col = conn.execute(
                    "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                    "AND NOT attisdropped AND attname NOT LIKE '\\_\\_pgt\\_%%' ORDER BY attnum DESC LIMIT 1",
                    (self.st(q),)).fetchone()[0]
                n = conn.execute(psql.SQL("UPDATE {} SET {} = {} + 1 WHERE ctid IN (SELECT ctid FROM {} LIMIT 1)").format(
                    psql.SQL(self.st(q)), psql.Identifier(col), psql.Identifier(col),
                    psql.SQL(self.st(q)))).rowcount
                found = self.difference(conn, q)
            finally:
                conn.execute("ROLLBACK")
            if n != 1 or len(found) != 2:
                self.fail(q, "self-test", f"the oracle did not notice a changed value of {col} "
                          f"({n} row changed, {len(found)} differences found)")
            else:
                print(f"self-test: the oracle notices a changed value of {q}.{col}", flush=True)

    def refresh_and_check_all(self, conn, phase):
        for q in self.created:
            if self.refresh(conn, q, phase):
                self.check(conn, q, phase)

    # -- rounds

    def writer(self, work, rng, stop, errors):
        """--writer-tx transactions, concurrent with the main thread's refreshes:
        a bounded number, so that a round never pends more than the cost
        model's threshold (1000 changes) whatever the machine's speed."""
        try:
            with self.connect("writer") as conn:
                for _ in range(self.opts.writer_tx):
                    if stop.is_set():
                        break
                    stmts = work.statements(rng, rng.randint(1, 3))
                    run_statements(conn, stmts)
                    self.writer_tx += 1
        except Exception as e:   # noqa: BLE001 -- reported by the main thread
            errors.append(e)

    def run(self):
        rng = random.Random(f"{self.opts.seed}:tpch")
        with self.connect("main") as conn:
            work = Workload(conn)
            for self.round in range(1, self.opts.rounds + 1):
                # 1. concurrent phase: a writer commits while every stream table refreshes
                stop, errors = threading.Event(), []
                wrng = random.Random(f"{self.opts.seed}:{self.round}:writer")
                t = threading.Thread(target=self.writer, args=(work, wrng, stop, errors))
                t.start()
                try:
                    for q in self.created:
                        self.refresh(conn, q, "concurrent")
                except BaseException:
                    stop.set()
                    raise
                finally:
                    t.join()
                if errors:
                    raise errors[0]
                # 2. quiesce
                self.refresh_and_check_all(conn, "quiesce")
                # 3. one larger change set, then refresh and check
                stmts = work.statements(rng, self.opts.change)
                run_statements(conn, stmts)
                conn.execute("ANALYZE tpch.orders, tpch.lineitem")
                self.refresh_and_check_all(conn, "sequential")
                print(f"round {self.round}: done ({self.refreshes} refreshes, "
                      f"{self.writer_tx} concurrent writer transactions so far)", flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(description="TPC-H correctness suite (see test/tpch/README.md).")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--change", type=int, default=20,
                   help="orders per kind of change in the sequential change set (default 20)")
    p.add_argument("--writer-tx", type=int, default=10,
                   help="transactions of the concurrent writer per round (default 10)")
    p.add_argument("--scale", default="0.01", help="TPC-H scale factor (default 0.01)")
    p.add_argument("--query", action="append", default=[], help="only these queries (q01, ...)")
    p.add_argument("--workdir", help="directory for data, cluster and logs")
    p.add_argument("--pg-config", default=os.environ.get("PG_CONFIG") or
                   "/usr/lib/postgresql/15/bin/pg_config")
    p.add_argument("--os-user", default=os.environ.get("PGT_OS_USER", "postgres"))
    p.add_argument("--keep", action="store_true", help="keep the cluster running")
    opts = p.parse_args(argv)
    opts.queries = [q for arg in opts.query for q in arg.split(",") if q] or QUERIES
    bad = [q for q in opts.queries if q not in QUERIES]
    if bad:
        p.error(f"unknown queries: {', '.join(bad)}")
    return opts


def tpchgen():
    exe = os.path.join(os.path.dirname(sys.executable), "tpchgen-cli")
    return exe if os.path.exists(exe) else shutil.which("tpchgen-cli") or "tpchgen-cli"


def main(argv):
    opts = parse_args(argv)
    t0 = time.monotonic()
    workdir = opts.workdir or tempfile.mkdtemp(prefix="pgt-tpch.", dir="/tmp")
    os.makedirs(workdir, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(workdir, user=opts.os_user)
    datadir = os.path.join(workdir, f"sf{opts.scale}")
    cluster = None
    suite = None
    try:
        if not os.path.exists(os.path.join(datadir, "lineitem.csv")):
            subprocess.run([tpchgen(), "csv", "-s", opts.scale, "-o", datadir, "--overwrite"],
                           check=True, capture_output=True)
        os.environ.setdefault("PGT_RANDOM_PORT", "57410")
        cluster = Cluster(workdir, opts.pg_config, opts.os_user)
        if os.path.exists(cluster.data):
            raise Fatal(f"{cluster.data} exists already; remove it or use another --workdir")
        cluster.init()
        cluster.start()
        print(f"tpch: cluster in {workdir} (port {cluster.port}), SF {opts.scale}, seed {opts.seed}, "
              f"{opts.rounds} rounds, {len(opts.queries)} queries", flush=True)
        suite = Suite(opts, cluster.dsn(), opts.queries)
        suite.load(datadir)
        print(f"tpch: loaded in {time.monotonic() - t0:.0f}s", flush=True)
        suite.create()
        suite.self_test()
        suite.run()
    except Exception as e:   # noqa: BLE001
        print(f"tpch: aborted: {type(e).__name__}: {str(e).strip()[:500]}", flush=True)
        if not isinstance(e, (Fatal, psycopg.Error, subprocess.CalledProcessError)):
            traceback.print_exc()
        if cluster is not None:
            for line in cluster.log_excerpt(20):
                print(f"    server log: {line}")
        for q in opts.queries:
            if suite is None or q not in suite.failed:
                print(f"FAILED {q} (aborted)", flush=True)
                if suite is not None:
                    suite.failed[q] = "aborted"
        if suite is None:
            print(f"0 passed, {len(opts.queries)} failed")
            return 1
    finally:
        if cluster is not None and not opts.keep:
            cluster.stop()
    for q in opts.queries:
        if q not in suite.failed:
            print(f"ok {q}" + (" (refused as listed)" if q in REFUSED else ""), flush=True)
    failed = len(suite.failed)
    passed = len(opts.queries) - failed
    print(f"tpch: {time.monotonic() - t0:.0f}s, {suite.refreshes} refreshes; work directory {workdir}",
          flush=True)
    if opts.keep:
        print(f"tpch: server kept running: psql -h {workdir} -p {cluster.port} -U postgres", flush=True)
    elif failed == 0 and opts.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
