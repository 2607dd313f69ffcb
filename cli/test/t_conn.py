"""Connection the psql way: -h -p -U -d (name, conninfo, URI), --url, PG*
variables, .pgpass, -w and -W; connection failures exit 2."""

import os
import socket
import subprocess
import termios
import urllib.parse

import contract as C
import fixtures as F
from common import expect_error
from harness import (CFG, Fail, Pty, base_env, check, eq, psql_argv, qlit, run, sql_exec, test,
                     wait_until)

DB = "pgt_conn"
PW_USER = "pgt_pwuser"
PW = "s3cret pw:x"          # a space and a colon: quoted in .pgpass
_ready = []


def db():
    if not _ready:
        F.database(DB)
        F.create_st(DB, "conn_marker", F.Q_NORTH)
        _ready.append(True)
    return DB


def listed(r):
    """Names in a list --format json output."""
    r.ok()
    return [o["name"] for o in r.json()]


NO_PG = {"PGHOST": None, "PGPORT": None, "PGUSER": None, "PGDATABASE": None}


@test("cli-conn-options")
def _():
    d = db()
    r = run(["-h", CFG.host, "-p", str(CFG.port), "-U", CFG.user, "-d", d, "list", "--format", "json"],
            conn=False)
    eq(listed(r), ["conn_marker"], "stream tables with -h -p -U -d", r.details())
    r = run([f"--host={CFG.host}", f"--port={CFG.port}", f"--username={CFG.user}", f"--dbname={d}",
             "list", "--format", "json"], conn=False)
    eq(listed(r), ["conn_marker"], "stream tables with --host= --port= --username= --dbname=", r.details())
    # options after the command
    r = run(["list", "--format", "json", "-h", CFG.host, "-p", str(CFG.port), "-d", d],
            conn=False, env={"PGUSER": CFG.user})
    eq(listed(r), ["conn_marker"], "stream tables with the options after the command", r.details())


@test("cli-conn-dbname-conninfo")
def _():
    d = db()
    ci = f"host={CFG.host} port={CFG.port} user={CFG.user} dbname={d} application_name=pgt_cli_test"
    r = run(["-d", ci, "list", "--format", "json"], conn=False)
    eq(listed(r), ["conn_marker"], "stream tables with -d CONNINFO", r.details())


def uri(d, port=None):
    q = urllib.parse.urlencode({"host": CFG.host, "port": port or CFG.port, "user": CFG.user})
    return f"postgresql:///{d}?{q}"


@test("cli-conn-dbname-uri")
def _():
    d = db()
    r = run(["-d", uri(d), "list", "--format", "json"], conn=False)
    eq(listed(r), ["conn_marker"], "stream tables with -d URI", r.details())
    r = run(["--url", uri(d), "list", "--format", "json"], conn=False)
    eq(listed(r), ["conn_marker"], "stream tables with --url URI", r.details())
    r = run([f"--url={uri(d)}", "list", "--format", "json"], conn=False)
    eq(listed(r), ["conn_marker"], "stream tables with --url=URI", r.details())
    ci = f"host={CFG.host} port={CFG.port} dbname={d}"
    r = run(["--url", ci, "list", "--format", "json"], conn=False, env={"PGUSER": CFG.user})
    eq(listed(r), ["conn_marker"], "stream tables with --url CONNINFO", r.details())


@test("cli-conn-override")
def _():
    # cli/README.md: as in psql, the values inside a conninfo string or URI
    # given with -d/--url win over -h -p -U; of -d and --url the last counts.
    d = db()
    r = run(["-d", uri(d), "-p", "1", "list", "--format", "json"], conn=False)
    eq(listed(r), ["conn_marker"], "stream tables with -d URI -p 1 (the URI's port wins)", r.details())
    r = run(["--url", f"host={CFG.host} port={CFG.port} dbname={d}", "-h", "/nonexistent", "list",
             "--format", "json"], conn=False, env={"PGUSER": CFG.user})
    eq(listed(r), ["conn_marker"], "stream tables with --url CONNINFO -h /nonexistent", r.details())
    empty = F.database("pgt_empty")
    r = run(["-d", f"dbname={empty}", "--url", f"dbname={d}", "list", "--format", "json"])
    eq(listed(r), ["conn_marker"], "-d EMPTY --url CONN: the last one counts", r.details())
    r = run(["--url", f"dbname={d}", "-d", f"dbname={empty}", "list", "--format", "json"])
    eq(listed(r), [], "--url CONN -d EMPTY: the last one counts", r.details())
    # long options may be abbreviated while unambiguous
    r = run(["--user", CFG.user, f"--db={d}", "list", "--format", "json"], conn=False,
            env={"PGHOST": CFG.host, "PGPORT": str(CFG.port)})
    eq(listed(r), ["conn_marker"], "stream tables with --user --db= (abbreviations)", r.details())


@test("cli-conn-env")
def _():
    d = db()
    r = run(["list", "--format", "json"], db=d)
    eq(listed(r), ["conn_marker"], "stream tables with PGHOST/PGPORT/PGUSER/PGDATABASE", r.details())
    # a service file (PGSERVICEFILE, PGSERVICE)
    svc = os.path.join(CFG.scratch, "pg_service.conf")
    with open(svc, "w") as f:
        f.write(f"[pgt_cli]\nhost={CFG.host}\nport={CFG.port}\nuser={CFG.user}\ndbname={d}\n")
    r = run(["list", "--format", "json"], conn=False, env={"PGSERVICEFILE": svc, "PGSERVICE": "pgt_cli"})
    eq(listed(r), ["conn_marker"], "stream tables with PGSERVICE", r.details())
    # the database really comes from PGDATABASE: another one lists nothing
    r = run(["list", "--format", "json"], db=F.database("pgt_empty"))
    eq(listed(r), [], "stream tables of the empty database", r.details())


def closed_tcp_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@test("cli-conn-unreachable")
def _():
    for fmt in ("table", "json", "csv"):
        r = run(["-h", "/nonexistent", "-p", "1", "list", "--format", fmt], conn=False)
        expect_error(r, C.EXIT_CONN, 'connection to server on socket "/nonexistent/.s.PGSQL.1" failed')
    port = closed_tcp_port()
    r = run(["-h", "127.0.0.1", "-p", str(port), "-d", "postgres", "health"], conn=False)
    expect_error(r, C.EXIT_CONN, "connection to server at")
    for cmd in (["status", "x"], ["refresh", "x"], ["create", "x", "--query", "SELECT 1 AS a"]):
        r = run(["-h", "/nonexistent", "-p", "1"] + cmd, conn=False)
        expect_error(r, C.EXIT_CONN, "connection to server")
    r = run(["list"], db="pgt_no_such_database")
    expect_error(r, C.EXIT_CONN, 'database "pgt_no_such_database" does not exist')


# --- passwords ---------------------------------------------------------------------

_pw_ready = []


def pw_setup():
    """A role with a password, and a pg_hba.conf line that makes it use it."""
    if not _pw_ready:
        d = db()
        sql_exec("postgres", f"DROP ROLE IF EXISTS {PW_USER}; "
                             f"CREATE ROLE {PW_USER} LOGIN PASSWORD {qlit(PW)};")
        hba = os.path.join(CFG.datadir, "pg_hba.conf")
        with open(hba) as f:
            old = f.read()
        with open(hba, "w") as f:
            f.write(f"local all {PW_USER} scram-sha-256\n" + old)
        sql_exec("postgres", "SELECT pg_reload_conf();")
        # wait until a connection without the password is refused
        wait_until(lambda: _psql_refused(d), "pg_hba.conf to ask pgt_pwuser for a password")
        _pw_ready.append(True)
    return DB


def _psql_refused(d):
    argv = psql_argv(d)
    argv[argv.index("-U") + 1] = PW_USER
    p = subprocess.run(argv + ["-w", "-c", "SELECT 1"], capture_output=True, text=True,
                       env=base_env(conn=False), timeout=30)
    return p.returncode != 0 and "password" in p.stderr


def pgpass(path, password):
    esc = password.replace("\\", "\\\\").replace(":", "\\:")
    with open(path, "w") as f:
        f.write(f"# pgtrickle CLI tests\n*:*:*:{PW_USER}:{esc}\n")
    os.chmod(path, 0o600)
    return path


@test("cli-conn-pgpass")
def _():
    d = pw_setup()
    path = pgpass(os.path.join(CFG.scratch, "pgpass"), PW)
    r = run(["-U", PW_USER, "-w", "list", "--format", "json"], db=d, env={"PGPASSFILE": path})
    eq(listed(r), ["conn_marker"], "stream tables as pgt_pwuser with PGPASSFILE", r.details())
    # ~/.pgpass when PGPASSFILE is not set
    home = os.path.join(CFG.scratch, "home")
    os.makedirs(home, exist_ok=True)
    pgpass(os.path.join(home, ".pgpass"), PW)
    r = run(["-U", PW_USER, "-w", "list", "--format", "json"], db=d, env={"PGPASSFILE": None, "HOME": home})
    eq(listed(r), ["conn_marker"], "stream tables as pgt_pwuser with ~/.pgpass", r.details())
    # PGPASSWORD
    r = run(["-U", PW_USER, "-w", "list", "--format", "json"], db=d, env={"PGPASSWORD": PW})
    eq(listed(r), ["conn_marker"], "stream tables as pgt_pwuser with PGPASSWORD", r.details())
    # a wrong password in the file
    bad = pgpass(os.path.join(CFG.scratch, "pgpass-bad"), "wrong")
    r = run(["-U", PW_USER, "-w", "list"], db=d, env={"PGPASSFILE": bad})
    expect_error(r, C.EXIT_CONN, "password authentication failed")


@test("cli-conn-no-password")
def _():
    d = pw_setup()
    for fmt in ("table", "json"):
        r = run(["-U", PW_USER, "-w", "list", "--format", fmt], db=d)
        expect_error(r, C.EXIT_CONN, "password")
    r = run(["--no-password", "-U", PW_USER, "health"], db=d)
    expect_error(r, C.EXIT_CONN, "password")
    # without -w but with no terminal to ask on: exit 2, no waiting
    r = run(["-U", PW_USER, "list"], db=d, timeout=30)
    expect_error(r, C.EXIT_CONN, "password")


def _prompt_session(args, answer, d):
    t = Pty(args, db=d)
    try:
        m = t.expect(r"Password( for user \S+)?: ?", what="the password prompt")
        check(PW_USER in m.group(0) or m.group(1) is None, f"prompt {m.group(0)!r}", t.details())
        # echo must be off by the time the prompt shows: a password typed or
        # pasted at once is neither echoed nor lost, so answer right away
        check(not (t.modes()[3] & termios.ECHO),
              "the terminal still echoes when the password prompt appears", t.details())
        at = len(t.data)
        t.send(answer + "\r")
        rc = t.wait()
        echoed = answer in t.text(at)
        return rc, t, echoed
    finally:
        t.close()


@test("cli-conn-password-prompt")
def _():
    d = pw_setup()
    # -W: prompt before connecting
    rc, t, echoed = _prompt_session(["-W", "-U", PW_USER, "list", "--no-color"], PW, d)
    eq(rc, 0, "exit status after answering the -W prompt", t.details())
    check("conn_marker" in t.text(), "list output missing after the prompt", t.details())
    check(not echoed, "the password was echoed", t.details())
    # without -W: the server asks, the tool prompts once and retries
    rc, t, echoed = _prompt_session(["-U", PW_USER, "list", "--no-color"], PW, d)
    eq(rc, 0, "exit status after answering the prompt (no -W)", t.details())
    check("conn_marker" in t.text(), "list output missing after the prompt (no -W)", t.details())
    # typed ahead, before the prompt shows: kept, not thrown away
    t = Pty(["-W", "-U", PW_USER, "list", "--no-color"], db=d)
    try:
        t.send(PW + "\r")
        t.expect(r"Password( for user \S+)?: ?", what="the password prompt")
        try:
            rc = t.wait(timeout=20)
        except Fail:
            raise Fail("a password typed ahead of the prompt was lost (the tool still waits)", t.details())
        eq(rc, 0, "exit status with the password typed ahead", t.details())
        check("conn_marker" in t.text(), "list output missing (password typed ahead)", t.details())
    finally:
        t.close()
    # a wrong answer is a connection failure
    rc, t, echoed = _prompt_session(["-W", "-U", PW_USER, "list"], "wrong", d)
    eq(rc, C.EXIT_CONN, "exit status after a wrong password", t.details())
    check("password authentication failed" in t.text(), "no 'password authentication failed' message",
          t.details())


@test("cli-conn-w-never-prompts")
def _():
    # -w in a terminal: no prompt, exit 2
    d = pw_setup()
    t = Pty(["-w", "-U", PW_USER, "list"], db=d)
    try:
        rc = t.wait(timeout=20)
    except Fail:
        raise Fail("with -w the tool did not exit by itself (waiting for a password?)", t.details())
    finally:
        t.close()
    eq(rc, C.EXIT_CONN, "exit status", t.details())
    check("Password" not in t.text(), "prompted for a password in spite of -w", t.details())
