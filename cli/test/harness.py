"""Test harness of the pgtrickle CLI tests: run the real binary, talk SQL to
the real server with psql, drive the tool in a pseudo-terminal, and report
one line per test ("ok NAME" / "FAILED NAME: why").

Standard library only.
"""

import errno
import fcntl
import fnmatch
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
import traceback


class Fail(Exception):
    """A failed check; the message is the one-line reason."""

    def __init__(self, why, details=None):
        super().__init__(why)
        self.why = why
        self.details = details or []


def check(cond, why, details=None):
    if not cond:
        raise Fail(why, details)


def eq(got, want, what, details=None):
    if got != want:
        raise Fail(f"{what}: got {short(got)}, want {short(want)}", details)


def short(value, limit=300):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...'"


# --- configuration ------------------------------------------------------------

class Config:
    tool = None          # path of the built pgtrickle binary
    cli_dir = None       # the built copy of cli/ (doc/, completion/)
    bindir = None        # PostgreSQL's bindir (psql)
    datadir = None       # data directory of the test cluster
    scratch = None       # writable directory for files the tests make
    host = None          # PGHOST of the test cluster (a socket directory)
    port = None          # PGPORT
    user = None          # PGUSER (postgres)


CFG = Config()

# Variables that would change how libpq or the tool behave; every run
# starts without them and adds only what the test wants.
_DROP_ENV = re.compile(r"^(PG[A-Z_]*|NO_COLOR|CLICOLOR.*|COLUMNS|LINES|TERM|LANG|LC_.*|PAGER|PSQL_.*)$")


def base_env(db=None, conn=True):
    """Environment for a tool run: the PG* variables of the test cluster
    (when conn) and nothing else that could change its behaviour."""
    env = {k: v for k, v in os.environ.items() if not _DROP_ENV.match(k)}
    env["LC_ALL"] = "C.UTF-8"
    # Never read the invoking user's password file by accident.
    env["PGPASSFILE"] = os.path.join(CFG.scratch, "no-such-pgpass")
    if conn:
        env["PGHOST"] = CFG.host
        env["PGPORT"] = str(CFG.port)
        env["PGUSER"] = CFG.user
        if db:
            env["PGDATABASE"] = db
    return env


# --- running the tool ---------------------------------------------------------

class Result:
    def __init__(self, argv, rc, out, err, elapsed):
        self.argv = argv
        self.rc = rc
        self.out = out
        self.err = err
        self.elapsed = elapsed

    def details(self):
        lines = [f"command: {' '.join(self.argv)}", f"exit status: {self.rc}"]
        for label, text in (("stdout", self.out), ("stderr", self.err)):
            text = text if len(text) < 4000 else text[:4000] + "\n[...]"
            lines.append(f"{label}:")
            lines.extend("  | " + line for line in text.splitlines())
        return lines

    def expect_rc(self, want, what="exit status"):
        if isinstance(want, int):
            want = (want,)
        if self.rc not in want:
            first = self.err.strip().splitlines()[:1]
            raise Fail(f"{what}: got {self.rc}, want {' or '.join(map(str, want))}"
                       + (f" (stderr: {first[0][:200]})" if first else ""), self.details())
        return self

    def ok(self):
        return self.expect_rc(0)

    def fail(self, why):
        raise Fail(why, self.details())

    def json(self):
        try:
            return json.loads(self.out)
        except ValueError as e:
            raise Fail(f"stdout is not valid JSON: {e}", self.details())


VALGRIND = ["valgrind", "--leak-check=full", "--show-leak-kinds=definite",
            "--errors-for-leak-kinds=definite", "--error-exitcode=99", "--quiet",
            "--num-callers=30"]


def run(args, db=None, env=None, input=None, timeout=60, valgrind=False, conn=True,
        tool=None):
    """Run the tool with ARGS (a list).  DB sets PGDATABASE; ENV entries are
    added to (or, with value None, removed from) the base environment."""
    e = base_env(db, conn)
    for k, v in (env or {}).items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    argv = [tool or CFG.tool] + list(args)
    if valgrind:
        argv = VALGRIND + argv
    start = time.monotonic()
    try:
        p = subprocess.run(argv, input=input if input is not None else "",
                           capture_output=True, text=True, env=e, timeout=timeout,
                           cwd=CFG.scratch, errors="replace",
                           # no controlling terminal: a password prompt
                           # cannot wait for an answer
                           start_new_session=True)
    except subprocess.TimeoutExpired as x:
        out = x.stdout.decode(errors="replace") if isinstance(x.stdout, bytes) else (x.stdout or "")
        err = x.stderr.decode(errors="replace") if isinstance(x.stderr, bytes) else (x.stderr or "")
        r = Result(argv, None, out, err, timeout)
        raise Fail(f"timed out after {timeout}s", r.details())
    return Result(argv, p.returncode, p.stdout, p.stderr, time.monotonic() - start)


# --- SQL through psql ---------------------------------------------------------

def psql_argv(db):
    return [os.path.join(CFG.bindir, "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
            "-h", CFG.host, "-p", str(CFG.port), "-U", CFG.user, "-d", db]


def sql_exec(db, text, expect_error=False):
    """Run SQL statements; raise Fail on error (or, with expect_error, when
    there was none; then return stderr)."""
    p = subprocess.run(psql_argv(db), input=text, capture_output=True, text=True,
                       env=base_env(conn=False), timeout=120)
    if expect_error:
        if p.returncode == 0:
            raise Fail(f"SQL succeeded but should have failed: {text.strip()[:200]}")
        return p.stderr
    if p.returncode != 0:
        raise Fail(f"SQL failed: {p.stderr.strip()[:300]}", [text])
    return p.stdout


def sql_rows(db, query):
    """Rows of QUERY as a list of dicts (through json_agg, so values keep
    their JSON types: numbers, booleans, strings, null)."""
    out = sql_exec(db, f"SELECT coalesce(json_agg(t), '[]') FROM ({query}) t;")
    return json.loads(out)


def sql_value(db, query):
    out = sql_exec(db, query + ";").strip()
    return out


def qlit(s):
    return "'" + s.replace("'", "''") + "'"


def qident(s):
    return '"' + s.replace('"', '""') + '"'


def create_database(name, template="template1"):
    sql_exec("postgres", f"DROP DATABASE IF EXISTS {qident(name)} WITH (FORCE);"
                         f"CREATE DATABASE {qident(name)} TEMPLATE {qident(template)};")


def st_mismatch(db, st, query):
    """Number of rows by which stream table ST (a SQL name, already quoted as
    needed) differs from QUERY as a multiset, ignoring __pgt_* columns."""
    cols = sql_value(db, f"SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) "
                         f"FROM pg_attribute WHERE attrelid = {qlit(st)}::regclass AND attnum > 0 "
                         f"AND NOT attisdropped AND attname NOT LIKE '\\_\\_pgt\\_%'")
    check(cols, f"stream table {st} has no user columns")
    n = sql_value(db, f"SELECT count(*) FROM ((SELECT {cols} FROM {st} EXCEPT ALL ({query})) "
                      f"UNION ALL (({query}) EXCEPT ALL SELECT {cols} FROM {st})) d")
    return int(n)


def assert_st_equals_query(db, st, query):
    n = st_mismatch(db, st, query)
    check(n == 0, f"stream table {st} differs from its query by {n} rows")


def wait_until(fn, what, timeout=30.0, step=0.1):
    """Poll FN until it returns a true value; Fail after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(step)


# --- pseudo-terminal ----------------------------------------------------------

_ESC = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78DEHMc])")


def strip_escapes(data):
    return _ESC.sub(b"", data).replace(b"\x0f", b"").replace(b"\x0e", b"")


class Screen:
    """A small terminal emulator: enough of xterm's control sequences to
    know what an ncurses program shows (text only; attributes ignored)."""

    _CSI = re.compile(r"\x1b\[([0-9;?>]*)([ -/]*)([@-~])")

    def __init__(self, rows, cols):
        self.rows, self.cols = rows, cols
        self.grid = [[" "] * cols for _ in range(rows)]
        self.y = self.x = 0
        self.top, self.bottom = 0, rows - 1
        self.pending = ""
        self.decoder = __import__("codecs").getincrementaldecoder("utf-8")("replace")

    def resize(self, rows, cols):
        grid = [[" "] * cols for _ in range(rows)]
        for y in range(min(rows, self.rows)):
            for x in range(min(cols, self.cols)):
                grid[y][x] = self.grid[y][x]
        self.grid, self.rows, self.cols = grid, rows, cols
        self.top, self.bottom = 0, rows - 1
        self.y, self.x = min(self.y, rows - 1), min(self.x, cols - 1)

    def _scroll_up(self):
        del self.grid[self.top]
        self.grid.insert(self.bottom, [" "] * self.cols)

    def _newline(self):
        if self.y == self.bottom:
            self._scroll_up()
        elif self.y < self.rows - 1:
            self.y += 1

    def _put(self, ch):
        if self.x >= self.cols:
            self.x = 0
            self._newline()
        self.grid[self.y][self.x] = ch
        self.x += 1
        self.last = ch

    def feed(self, data):
        text = self.pending + self.decoder.decode(data)
        self.pending = ""
        i, n = 0, len(text)
        while i < n:
            ch = text[i]
            if ch == "\x1b":
                if i + 1 >= n:
                    self.pending = text[i:]
                    return
                nxt = text[i + 1]
                if nxt == "[":
                    m = self._CSI.match(text, i)
                    if not m:
                        if re.fullmatch(r"\x1b\[[0-9;?>]*[ -/]*", text[i:]):
                            self.pending = text[i:]
                            return
                        i += 2
                        continue
                    self._csi(m.group(1), m.group(3))
                    i = m.end()
                    continue
                if nxt == "]":  # OSC: up to BEL or ST
                    end = re.compile(r"\x07|\x1b\\").search(text, i)
                    if not end:
                        self.pending = text[i:]
                        return
                    i = end.end()
                    continue
                if nxt in "()*+":
                    if i + 2 >= n:
                        self.pending = text[i:]
                        return
                    i += 3
                    continue
                if nxt == "M":  # reverse index
                    if self.y == self.top:
                        del self.grid[self.bottom]
                        self.grid.insert(self.top, [" "] * self.cols)
                    elif self.y > 0:
                        self.y -= 1
                elif nxt == "D":
                    self._newline()
                elif nxt == "E":
                    self.x = 0
                    self._newline()
                elif nxt == "c":
                    self.__init__(self.rows, self.cols)
                i += 2
                continue
            if ch == "\r":
                self.x = 0
            elif ch == "\n":
                self._newline()
            elif ch == "\b":
                self.x = max(0, self.x - 1)
            elif ch == "\t":
                self.x = min(self.cols - 1, (self.x // 8 + 1) * 8)
            elif ch >= " " and ch != "\x7f":
                self._put(ch)
            i += 1

    def _csi(self, params, final):
        private = params.startswith(("?", ">"))
        nums = [int(p) if p.isdigit() else 0 for p in params.lstrip("?>").split(";")] if params else []
        a = nums[0] if nums else 0
        one = max(a, 1)
        if private:
            return
        if final in "Hf":
            self.y = min(max(one, 1), self.rows) - 1
            self.x = min(max(nums[1] if len(nums) > 1 else 1, 1), self.cols) - 1
        elif final == "d":
            self.y = min(one, self.rows) - 1
        elif final in "G`":
            self.x = min(one, self.cols) - 1
        elif final == "A":
            self.y = max(0, self.y - one)
        elif final == "B":
            self.y = min(self.rows - 1, self.y + one)
        elif final in "Ca":
            self.x = min(self.cols - 1, self.x + one)
        elif final == "D":
            self.x = max(0, self.x - one)
        elif final == "K":
            row = self.grid[self.y]
            rng = {0: range(self.x, self.cols), 1: range(0, self.x + 1), 2: range(self.cols)}.get(a, ())
            for x in rng:
                row[x] = " "
        elif final == "J":
            if a == 0:
                self._csi("", "K")
                for y in range(self.y + 1, self.rows):
                    self.grid[y] = [" "] * self.cols
            elif a == 1:
                for y in range(self.y):
                    self.grid[y] = [" "] * self.cols
            else:
                self.grid = [[" "] * self.cols for _ in range(self.rows)]
        elif final == "X":
            for x in range(self.x, min(self.cols, self.x + one)):
                self.grid[self.y][x] = " "
        elif final == "b":  # repeat the last character
            for _ in range(one):
                self._put(getattr(self, "last", " "))
        elif final == "@":
            row = self.grid[self.y]
            row[self.x:self.x] = [" "] * one
            del row[self.cols:]
        elif final == "P":
            row = self.grid[self.y]
            del row[self.x:self.x + one]
            row.extend([" "] * (self.cols - len(row)))
        elif final == "L":
            for _ in range(one):
                del self.grid[self.bottom]
                self.grid.insert(self.y, [" "] * self.cols)
        elif final == "M":
            for _ in range(one):
                del self.grid[self.y]
                self.grid.insert(self.bottom, [" "] * self.cols)
        elif final == "S":
            for _ in range(one):
                self._scroll_up()
        elif final == "T":
            for _ in range(one):
                del self.grid[self.bottom]
                self.grid.insert(self.top, [" "] * self.cols)
        elif final == "r":
            self.top = (nums[0] if nums and nums[0] else 1) - 1
            self.bottom = (nums[1] if len(nums) > 1 and nums[1] else self.rows) - 1
            self.y = self.x = 0

    def lines(self):
        return ["".join(row).rstrip() for row in self.grid]

    def text(self):
        return "\n".join(self.lines())


class Pty:
    """The tool running in a pseudo-terminal of ROWS x COLS as the session
    leader with the terminal as its controlling terminal (so ^C raises
    SIGINT unless the tool switches signals off)."""

    def __init__(self, args, db=None, env=None, rows=40, cols=140, term="xterm-256color",
                 argv=None):
        e = base_env(db)
        e["TERM"] = term
        for k, v in (env or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        self.argv = argv or ([CFG.tool] + list(args))
        pid, fd = pty.fork()
        if pid == 0:
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
                os.chdir(CFG.scratch)
                os.execve(self.argv[0], self.argv, e)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.screen = Screen(rows, cols)
        self.data = b""
        self.rc = None
        self.eof = False
        # the terminal's modes as the tool found them
        self.initial_modes = termios.tcgetattr(fd)

    def _read(self, timeout):
        if self.eof:
            return False
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            chunk = os.read(self.fd, 65536)
        except OSError as e:
            if e.errno == errno.EIO:
                self.eof = True
                return False
            raise
        if not chunk:
            self.eof = True
            return False
        self.data += chunk
        self.screen.feed(chunk)
        return True

    def text(self, since=0):
        return strip_escapes(self.data[since:]).decode("utf-8", "replace")

    def expect(self, pattern, timeout=15.0, since=0, what=None, kill=True):
        """Read until PATTERN (a regex on the output with escape sequences
        removed, from byte offset SINCE) matches; return the match.  On a
        timeout, Fail (and kill the tool unless KILL is false)."""
        rx = re.compile(pattern)
        return self._read_until(lambda: rx.search(self.text(since)), timeout, kill,
                                lambda: Fail(f"terminal: timed out waiting for {what or pattern!r}",
                                             self.details()))

    def _read_until(self, find, timeout, kill, failure):
        """Read the tool's output until FIND() returns a match (returned);
        at the timeout or end of output, raise FAILURE() (killing the tool
        first unless KILL is false)."""
        deadline = time.monotonic() + timeout
        while True:
            m = find()
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0 or (self.eof and not self._read(0)):
                if kill:
                    self.kill()
                raise failure()
            self._read(min(left, 0.2))

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        os.write(self.fd, data)

    def resize(self, rows, cols):
        """Change the window size (the kernel sends SIGWINCH to the tool)."""
        self.screen.resize(rows, cols)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def expect_screen(self, pattern, timeout=15.0, what=None, kill=True):
        """Read until PATTERN (a regex, multi-line mode) matches what the
        screen shows now; return the match."""
        rx = re.compile(pattern, re.M)
        return self._read_until(lambda: rx.search(self.screen.text()), timeout, kill,
                                lambda: Fail(f"terminal: the screen does not show {what or pattern!r}",
                                             self.details() + ["screen:"]
                                             + ["  | " + ln for ln in self.screen.lines()]))

    def modes(self):
        return termios.tcgetattr(self.fd)

    def wait(self, timeout=15.0):
        """Wait for the tool to exit; return its exit status (negative:
        killed by that signal).  Keeps reading the output meanwhile."""
        deadline = time.monotonic() + timeout
        while self.rc is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.rc = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                self.kill()
                raise Fail(f"terminal: the tool did not exit within {timeout:.0f}s", self.details())
            self._read(0.05)
        while self._read(0.05):
            pass
        return self.rc

    def kill(self):
        if self.rc is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                _, status = os.waitpid(self.pid, 0)
                self.rc = os.waitstatus_to_exitcode(status)
            except OSError:
                pass

    def close(self):
        self.kill()
        try:
            os.close(self.fd)
        except OSError:
            pass

    def details(self):
        raw = self.data[-3000:]
        return [f"command (pty): {' '.join(self.argv)}", f"exit status: {self.rc}",
                "terminal output (last 3000 bytes, raw):", "  | " + repr(raw)]


# --- test registry and runner -------------------------------------------------

TESTS = []


def test(name):
    """Register the decorated function as test NAME."""
    check(re.fullmatch(r"[A-Za-z0-9_.+-]+", name) is not None, f"bad test name {name}")

    def deco(fn):
        TESTS.append((name, fn))
        return fn
    return deco


def run_tests(patterns, log_dir, already_passed=0):
    names = [n for n, _ in TESTS]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        print(f"duplicate test names: {sorted(dup)}", file=sys.stderr)
        return 2
    passed, failed = already_passed, 0
    os.makedirs(log_dir, exist_ok=True)
    for name, fn in TESTS:
        if patterns and not any(fnmatch.fnmatchcase(name, p) for p in patterns):
            continue
        start = time.monotonic()
        try:
            fn()
        except Fail as f:
            failed += 1
            why = " ".join(f.why.split())
            print(f"FAILED {name}: {why}")
            for line in f.details[:60]:
                print("    " + line)
            _write_log(log_dir, name, why, f.details)
        except Exception as x:  # a defect of the test or an unexpected tool behaviour
            failed += 1
            why = f"{type(x).__name__}: {' '.join(str(x).split())}"[:400]
            print(f"FAILED {name}: {why}")
            tb = traceback.format_exc().splitlines()
            for line in tb[-12:]:
                print("    " + line)
            _write_log(log_dir, name, why, tb)
        else:
            passed += 1
            print(f"ok {name}" + (f" ({time.monotonic() - start:.1f}s)" if os.environ.get("PGT_CLI_TIMES") else ""))
        sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def _write_log(log_dir, name, why, details):
    with open(os.path.join(log_dir, name + ".log"), "w") as f:
        f.write(why + "\n")
        for line in details:
            f.write(line + "\n")
