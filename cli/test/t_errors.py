"""Bad input: usage errors (exit 3), unknown stream tables and a database
without the extension (exit 1)."""

import contract as C
import fixtures as F
from common import expect_error, expect_usage, tool_json
from harness import check, eq, run, test

DB = "pgt_errors"


@test("cli-usage-unknown-command")
def _():
    r = expect_usage(run(["frobnicate"], db=F.database(DB)), "unknown command")
    check("frobnicate" in r.err, "the message does not name the unknown command", r.details())


@test("cli-usage-unknown-option")
def _():
    d = F.database(DB)
    r = expect_usage(run(["list", "--frobnicate"], db=d), "unknown option after the command")
    check("frobnicate" in r.err, "the message does not name the unknown option", r.details())
    expect_usage(run(["--frobnicate", "list"], db=d), "unknown option before the command")
    r = expect_usage(run(["create", "x", "--query", "SELECT 1 AS a", "--cascade"], db=d),
                     "option of another command")
    check('Try "pgtrickle create --help"' in r.err, "the hint does not name the command's --help", r.details())


@test("cli-usage-missing-name")
def _():
    d = F.database(DB)
    for cmd in C.NAME_COMMANDS:
        args = [cmd] + (["--query", "SELECT 1 AS a"] if cmd == "create" else [])
        r = expect_usage(run(args, db=d), f"{cmd} without NAME")
        check(f'Try "pgtrickle {cmd} --help"' in r.err, f"{cmd}: the hint does not name '{cmd} --help'",
              r.details())


@test("cli-usage-extra-argument")
def _():
    d = F.database(DB)
    expect_usage(run(["list", "extra"], db=d), "list with an argument")
    expect_usage(run(["status", "a", "b"], db=d), "status with two names")
    expect_usage(run(["health", "x"], db=d), "health with an argument")


@test("cli-usage-bad-values")
def _():
    d = F.database(DB)
    expect_usage(run(["list", "--format", "xml"], db=d), "--format xml")
    expect_usage(run(["list", "--format"], db=d), "--format without a value")
    for bad in ("0", "-1", "abc", "1.5"):
        expect_usage(run(["history", "x", "--limit", bad], db=d), f"--limit {bad}")
    # '--' ends options: a name that looks like an option
    r = run(["status", "--", "--weird"], db=d)
    expect_error(r, C.EXIT_SERVER, 'stream table "--weird" does not exist')


@test("cli-unknown-table")
def _():
    d = F.database(DB)
    for args in (["status"], ["drop"], ["drop", "--cascade"], ["refresh"], ["pause"], ["resume"],
                 ["verify"], ["explain"], ["history"], ["alter", "--schedule", "5m"]):
        cmd = [args[0], "no_such_st"] + args[1:]
        for fmt in ("table", "json", "csv"):
            r = run(cmd + ["--format", fmt], db=d)
            expect_error(r, C.EXIT_SERVER, "no_such_st")
            check("does not exist" in r.err, f"{' '.join(cmd)}: no 'does not exist' message", r.details())
    # qualified with a schema that does not exist
    r = run(["status", "nowhere.no_such_st"], db=d)
    expect_error(r, C.EXIT_SERVER)


@test("cli-extension-missing")
def _():
    from harness import create_database
    create_database("pgt_noext")
    for args in (["list"], ["health"], ["status", "x"]):
        r = run(args, db="pgt_noext")
        expect_error(r, C.EXIT_SERVER, 'extension "pg_trickle" is not installed in database "pgt_noext"',
                     hint="CREATE EXTENSION pg_trickle")


@test("cli-stdout-unwritable")
def _():
    # a failed write to stdout is an error (exit 1), not a silent success
    import subprocess
    from harness import CFG, base_env
    d = F.database(DB)
    if not F.st_exists(d, "err_marker"):
        F.create_st(d, "err_marker", F.Q_NORTH)
    for args in (["list"], ["list", "--format", "json"], ["status", "err_marker", "--format", "csv"],
                 ["history", "err_marker"]):
        with open("/dev/full", "w") as full:
            p = subprocess.run([CFG.tool] + args, stdout=full, stderr=subprocess.PIPE, text=True,
                               env=base_env(d), timeout=60, start_new_session=True)
        eq(p.returncode, C.EXIT_SERVER, f"{' '.join(args)} > /dev/full: exit status (stderr {p.stderr[:200]!r})")
        check(p.stderr.startswith(C.ERROR_PREFIX), f"{' '.join(args)} > /dev/full: no error line: {p.stderr[:200]!r}")


@test("cli-table-one-line-cells")
def _():
    # a value with a line break is one line in a table (the break becomes a space)
    d = F.database("pgt_cells")
    F.create_st(d, '"two\nlines"', F.Q_NORTH)
    F.create_st(d, "plain", F.Q_SOUTH)
    r = run(["list"], db=d).ok()
    lines = [ln for ln in r.out.splitlines() if ln.strip()]
    eq(len(lines), 3, "table lines (header and two rows)", r.details())
    check(any(ln.startswith("two lines ") for ln in lines), "no row starting with 'two lines'", r.details())
    doc, r = tool_json(["list"], d)
    check("two\nlines" in [o["name"] for o in doc], "JSON keeps the line break", r.details())
