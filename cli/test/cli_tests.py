#!/usr/bin/env python3
"""Tests of the pgtrickle command-line tool against a real server.

Run by cli/test/run_tests.sh, which builds the tool and starts the cluster
(PGHOST/PGPORT/PGUSER in the environment).  Every test runs the real binary;
what the tool prints is compared with what the database says, and what the
tool changes is checked in the catalog and in the stream tables' contents.

    cli_tests.py --tool BIN --cli-dir DIR --bindir DIR --datadir DIR --scratch DIR [PATTERN...]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import CFG  # noqa: E402

# The test modules register their tests in this order.
import t_meta  # noqa: E402,F401
import t_read  # noqa: E402,F401
import t_write  # noqa: E402,F401
import t_errors  # noqa: E402,F401
import t_conn  # noqa: E402,F401
import t_terminal  # noqa: E402,F401
import t_health  # noqa: E402,F401
import t_valgrind  # noqa: E402,F401


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tool", required=True)
    ap.add_argument("--cli-dir", required=True)
    ap.add_argument("--bindir", required=True)
    ap.add_argument("--datadir", required=True)
    ap.add_argument("--scratch", required=True)
    ap.add_argument("--already-passed", type=int, default=0,
                    help="tests the runner counted as passed before (the build)")
    ap.add_argument("patterns", nargs="*")
    a = ap.parse_args()
    CFG.tool = os.path.abspath(a.tool)
    CFG.cli_dir = os.path.abspath(a.cli_dir)
    CFG.bindir = a.bindir
    CFG.datadir = a.datadir
    CFG.scratch = os.path.abspath(a.scratch)
    CFG.host = os.environ["PGHOST"]
    CFG.port = int(os.environ["PGPORT"])
    CFG.user = os.environ.get("PGUSER", "postgres")
    log_dir = os.path.join(os.path.dirname(CFG.scratch), "logs")
    return harness.run_tests(a.patterns, log_dir, a.already_passed)


if __name__ == "__main__":
    sys.exit(main())
