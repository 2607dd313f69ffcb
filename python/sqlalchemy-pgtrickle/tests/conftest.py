"""Fixtures: a fresh database with pg_trickle on the server the runner
started (PGHOST, PGPORT, PGUSER), and SQLAlchemy engines over psycopg 3 and
psycopg2."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator, List
from urllib.parse import quote

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

HERE = Path(__file__).resolve().parent
DOCS = Path(os.environ.get("PGT_DOCS_DIR", HERE.parents[2] / "docs" / "integrations"))
README = HERE.parent / "README.md"
DRIVERS = [d for d in os.environ.get("PGT_SA_DRIVERS", "psycopg,psycopg2").split(",") if d]


def fresh_database(name: str) -> None:
    with psycopg.connect(dbname="postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        conn.execute("CREATE DATABASE %s" % name)
    with psycopg.connect(dbname=name, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pg_trickle")


def url(driver: str, dbname: str) -> str:
    host = os.environ["PGHOST"]
    return "postgresql+%s://%s@/%s?host=%s&port=%s" % (
        driver,
        os.environ.get("PGUSER", "postgres"),
        dbname,
        quote(host, safe=""),
        os.environ["PGPORT"],
    )


@pytest.fixture(params=DRIVERS)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    dbname = "sa_" + re.sub(r"\W", "_", request.node.name).lower()[:50]
    fresh_database(dbname)
    eng = create_engine(url(request.param, dbname))
    yield eng
    eng.dispose()


def doc_blocks(path: Path, label: str) -> List[str]:
    """The ```python blocks of *path* that follow a line
    ``<!-- tested: LABEL -->``."""
    text = path.read_text()
    pattern = r"<!-- tested: %s -->\s*```python\n(.*?)```" % re.escape(label)
    blocks = re.findall(pattern, text, re.S)
    assert blocks, "no block marked 'tested: %s' in %s" % (label, path)
    return blocks
