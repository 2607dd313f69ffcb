"""Checks shared by the test modules: JSON/CSV shapes from the contract,
the error style, and comparisons of the tool's values with the database's."""

import csv
import io
import json
import math

import contract as C
from harness import Fail, check, eq, run


def tool_json(args, db, **kw):
    """Run the tool with --format json, expect exit 0 (or kw rc) and return
    (document, result)."""
    rc = kw.pop("rc", 0)
    r = run(list(args) + ["--format", "json"], db=db, **kw).expect_rc(rc)
    check(r.out.endswith("\n"), "JSON output does not end with a newline", r.details())
    doc = r.json()
    lines = r.out.splitlines()
    if isinstance(doc, (list, dict)) and len(doc) > 0:
        # "indented by 2 spaces"
        check(len(lines) > 2 and lines[1].startswith("  ") and not lines[1].startswith("   "),
              "JSON output is not indented by 2 spaces", r.details())
    return doc, r


def tool_csv(args, db, **kw):
    """Run the tool with --format csv; return (header, rows as dicts, result)."""
    rc = kw.pop("rc", 0)
    r = run(list(args) + ["--format", "csv"], db=db, **kw).expect_rc(rc)
    check("\r\n" not in r.out, "CSV lines must end with \\n, not \\r\\n", r.details())
    check(r.out.endswith("\n"), "CSV output does not end with a newline", r.details())
    rows = list(csv.reader(io.StringIO(r.out, newline="")))
    check(rows, "CSV output is empty (no header)", r.details())
    header, body = rows[0], rows[1:]
    for i, row in enumerate(body):
        check(len(row) == len(header), f"CSV row {i + 1} has {len(row)} fields, header {len(header)}",
              r.details())
    return header, [dict(zip(header, row)) for row in body], r


def check_keys(obj, keys, what, details=None, ordered=True):
    """OBJ has exactly the documented KEYS (in order) with the documented types."""
    check(isinstance(obj, dict), f"{what}: not a JSON object: {obj!r:.200}", details)
    want = [k for k, _ in keys]
    got = list(obj.keys())
    if set(got) != set(want):
        missing = [k for k in want if k not in obj]
        extra = [k for k in got if k not in want]
        raise Fail(f"{what}: keys differ from the contract (missing {missing}, undocumented {extra})",
                   details)
    if ordered and got != want:
        raise Fail(f"{what}: key order {got} is not the documented {want}", details)
    for k, typ in keys:
        if not C.type_ok(obj[k], typ):
            raise Fail(f"{what}: key {k!r} is {obj[k]!r:.120} ({type(obj[k]).__name__}), "
                       f"documented type {typ}", details)


def check_csv_header(header, keys, what, details=None):
    eq(header, [k for k, _ in keys], f"{what}: CSV header", details)


def csv_value(value):
    """How the contract writes a JSON value in CSV."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def csv_matches_json(csv_rows, json_rows, keys, what, details=None, skip=()):
    """CSV rows carry the same values as the JSON rows (same order)."""
    eq(len(csv_rows), len(json_rows), f"{what}: number of CSV rows vs JSON rows", details)
    for i, (c, j) in enumerate(zip(csv_rows, json_rows)):
        for k, typ in keys:
            if k in skip:
                continue
            cv, jv = c[k], j[k]
            base = typ.rstrip("?")
            if jv is None:
                eq(cv, "", f"{what}: row {i + 1} {k} (NULL is an empty field)", details)
            elif base in ("number", "seconds"):
                check(cv != "" and math.isclose(float(cv), float(jv), rel_tol=1e-6, abs_tol=1e-6),
                      f"{what}: row {i + 1} {k}: CSV {cv!r} vs JSON {jv!r}", details)
            elif base == "object":
                eq(json.loads(cv), jv, f"{what}: row {i + 1} {k}", details)
            else:
                eq(cv, csv_value(jv), f"{what}: row {i + 1} {k}", details)


def same_ts(tool_value, db_value, what, details=None):
    """A tool timestamp equals the database's (to the microsecond)."""
    if db_value is None:
        eq(tool_value, None, what, details)
        return
    check(tool_value is not None, f"{what}: null, database has {db_value}", details)
    check(C.TIMESTAMP_RE.match(tool_value) is not None,
          f"{what}: {tool_value!r} is not ISO 8601 UTC with 6 fractional digits", details)
    eq(C.parse_ts(tool_value), C.parse_ts(db_value), what, details)


def same_number(tool_value, db_value, what, details=None, tol=1e-6):
    if db_value is None:
        eq(tool_value, None, what, details)
        return
    check(isinstance(tool_value, (int, float)) and not isinstance(tool_value, bool)
          and math.isclose(tool_value, float(db_value), rel_tol=tol, abs_tol=tol),
          f"{what}: got {tool_value!r}, database has {db_value!r}", details)


def expect_error(r, rc, message=None, detail=None, hint=None):
    """R failed with exit status RC, printed nothing on stdout, and its stderr
    has the error line (containing MESSAGE), and DETAIL/HINT lines when given."""
    r.expect_rc(rc)
    check(r.out == "", f"stdout must be empty on error, got {r.out[:200]!r}", r.details())
    lines = r.err.splitlines()
    errs = [ln for ln in lines if ln.startswith(C.ERROR_PREFIX)]
    check(errs, f"no '{C.ERROR_PREFIX}' line on stderr", r.details())
    if message is not None:
        check(any(message in ln for ln in errs), f"error line does not contain {message!r}",
              r.details())
    if detail is not None:
        check(any(ln.startswith(C.DETAIL_PREFIX) and detail in ln for ln in lines),
              f"no '{C.DETAIL_PREFIX}...{detail}' line", r.details())
    if hint is not None:
        check(any(ln.startswith(C.HINT_PREFIX) and hint in ln for ln in lines),
              f"no '{C.HINT_PREFIX}...{hint}' line", r.details())
    return r


def expect_usage(r, what):
    """R is a usage error: exit 3, nothing on stdout, an error line and the
    'Try "pgtrickle ... --help"' hint."""
    r.expect_rc(C.EXIT_USAGE, f"{what}: exit status")
    check(r.out == "", f"{what}: stdout must be empty, got {r.out[:200]!r}", r.details())
    check(any(ln.startswith(C.ERROR_PREFIX) for ln in r.err.splitlines()),
          f"{what}: no '{C.ERROR_PREFIX}' line on stderr", r.details())
    check(C.USAGE_HINT.search(r.err) is not None,
          f"{what}: no 'pgtrickle: hint: Try \"pgtrickle ... --help\" for more information.' line",
          r.details())
    return r


def table_lines(r):
    """Non-empty lines of a table output."""
    return [ln for ln in r.out.splitlines() if ln.strip()]


def header_columns(line, headers, what, details=None):
    """The header line has the documented column titles in order."""
    pos = -1
    for h in headers:
        i = line.find(h, pos + 1)
        check(i > pos, f"{what}: header {line!r} lacks {h!r} (in order {headers})", details)
        pos = i + len(h) - 1


def row_cells(table_text, name):
    """The line of an aligned table whose first cell is NAME."""
    for ln in table_text.splitlines():
        cells = ln.split()
        if cells and cells[0] == name:
            return ln
    return None
