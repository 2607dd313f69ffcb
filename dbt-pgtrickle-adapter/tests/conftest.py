"""Fixtures of the adapter's tests: dbt-tests-adapter's project fixtures on a
throwaway server (run_tests.sh starts it and sets PGHOST, PGPORT, PGUSER and
PGDATABASE: a database with pg_trickle created in it)."""

import os

import pytest

pytest_plugins = ["dbt.tests.fixtures.project"]


@pytest.fixture(scope="class")
def dbt_profile_target():
    return {
        "type": "pgtrickle",
        "threads": 4,
        "host": os.environ.get("PGHOST", "localhost"),
        "port": int(os.environ.get("PGPORT", "5432")),
        "user": os.environ.get("PGUSER", "postgres"),
        "pass": os.environ.get("PGPASSWORD", ""),
        "dbname": os.environ.get("PGDATABASE", "postgres"),
    }
