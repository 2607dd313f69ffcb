"""Airflow runs from AIRFLOW_HOME (the runner migrated its SQLite metadata
database), with the example DAGs of the installed wheel as dags folder and
connection pgtrickle_example to a fresh database on the runner's server."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import psycopg
import pytest

HERE = Path(__file__).resolve().parent
DOCS = Path(os.environ.get("PGT_DOCS_DIR", HERE.parents[2] / "docs" / "integrations"))
README = HERE.parent / "README.md"
DBNAME = "airflow_example"


def pytest_configure(config: pytest.Config) -> None:
    import importlib.util

    spec = importlib.util.find_spec("airflow_provider_pgtrickle")
    assert spec and spec.origin
    installed = Path(spec.origin).parent
    # the wheel, not the source tree
    assert "site-packages" in str(installed), installed
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(installed / "example_dags")
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW_CONN_PGTRICKLE_EXAMPLE"] = json.dumps({
        "conn_type": "pgtrickle",
        "host": os.environ["PGHOST"],
        "port": int(os.environ["PGPORT"]),
        "login": os.environ.get("PGUSER", "postgres"),
        "schema": DBNAME,
    })


@pytest.fixture
def database() -> str:
    with psycopg.connect(dbname="postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % DBNAME)
        conn.execute("CREATE DATABASE %s" % DBNAME)
    with psycopg.connect(dbname=DBNAME, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pg_trickle")
    return DBNAME


def sql(query: str, *params: object) -> list:
    with psycopg.connect(dbname=DBNAME, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def doc_files(path: Path) -> dict:
    found = re.findall(r"<!-- tested: file (\S+) -->\s*```python\n(.*?)```", path.read_text(), re.S)
    assert found, "no tested file blocks in %s" % path
    return dict(found)
