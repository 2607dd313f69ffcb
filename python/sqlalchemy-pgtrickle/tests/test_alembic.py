"""Alembic: the operations (upgrade/downgrade) and autogenerate in a
scratch directory, against the real server."""

from __future__ import annotations

import textwrap
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Engine

from conftest import DOCS, doc_blocks

ENV_PY = '''
import importlib.util, os
from alembic import context
from sqlalchemy import create_engine
import sqlalchemy_pgtrickle.alembic  # registers op.*_stream_table and autogenerate

spec = importlib.util.spec_from_file_location("models", os.path.join(os.path.dirname(__file__), "models.py"))
models = importlib.util.module_from_spec(spec)
spec.loader.exec_module(models)
target_metadata = models.Base.metadata

engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
'''

MODELS = '''
from sqlalchemy import Column, Integer, Text, func, select, text
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy_pgtrickle import stream_table

class Base(DeclarativeBase):
    pass

class Event(Base):
    __tablename__ = "events"
    id = Column(Integer, primary_key=True)
    kind = Column(Text, nullable=False)

{stream_tables}
'''

MAKO = '''"""${message}"""
from alembic import op
import sqlalchemy as sa
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None

def upgrade():
    ${upgrades if upgrades else "pass"}

def downgrade():
    ${downgrades if downgrades else "pass"}
'''


def _config(tmp_path: Path, engine: Engine, stream_tables: str = "") -> Config:
    (tmp_path / "versions").mkdir(exist_ok=True)
    (tmp_path / "env.py").write_text(ENV_PY)
    (tmp_path / "script.py.mako").write_text(MAKO)
    (tmp_path / "models.py").write_text(MODELS.format(stream_tables=stream_tables))
    cfg = Config()
    cfg.set_main_option("script_location", str(tmp_path))
    cfg.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return cfg


def _stream_tables(engine: Engine) -> dict:
    with engine.connect() as c:
        rows = c.execute(text(
            "SELECT pgt_name, original_query, schedule FROM pgtrickle.pgt_stream_tables"
        )).all()
    return {r.pgt_name: (r.original_query, r.schedule) for r in rows}


def test_docs_migration_upgrade_downgrade(engine: Engine, tmp_path: Path) -> None:
    cfg = _config(tmp_path, engine)
    body = doc_blocks(DOCS / "sqlalchemy.md", "migration")[0]
    (tmp_path / "versions" / "0001_events.py").write_text(
        'from alembic import op\nimport sqlalchemy as sa\n'
        'revision = "0001"\ndown_revision = None\nbranch_labels = None\ndepends_on = None\n\n'
        + body
    )
    command.upgrade(cfg, "head")
    assert _stream_tables(engine) == {
        "event_counts": ("SELECT kind, count(*) AS n FROM events GROUP BY kind", "30s")
    }
    command.downgrade(cfg, "base")
    assert _stream_tables(engine) == {}
    with engine.connect() as c:
        assert c.execute(text("SELECT to_regclass('events')")).scalar() is None


def _autogenerate(cfg: Config, tmp_path: Path, message: str) -> str:
    script = command.revision(cfg, message=message, autogenerate=True)
    path = Path(script.path)  # type: ignore[union-attr]
    return path.read_text()


def test_autogenerate_create_alter_drop(engine: Engine, tmp_path: Path) -> None:
    q1 = 'text("SELECT kind, count(*) AS n FROM events GROUP BY kind")'
    decl = textwrap.dedent('''
        stream_table("event_counts", {query}, Base.metadata,
                     Column("kind", Text, primary_key=True), Column("n", Integer), schedule="{schedule}")
    ''')
    cfg = _config(tmp_path, engine, decl.format(query=q1, schedule="1m"))
    first = _autogenerate(cfg, tmp_path, "first")
    assert "op.create_table('events'" in first
    assert "op.create_stream_table('event_counts', 'SELECT kind, count(*) AS n FROM events GROUP BY kind', schedule='1m')" in first
    command.upgrade(cfg, "head")
    assert set(_stream_tables(engine)) == {"event_counts"}

    # nothing changed: an empty migration (no drop_table of the storage table)
    same = _autogenerate(cfg, tmp_path, "same")
    assert "_stream_table" not in same and "drop_table" not in same, same
    command.upgrade(cfg, "head")

    # a changed defining query and schedule: alter, reversible
    q2 = 'text("SELECT kind, count(*) AS n FROM events WHERE kind <> \'\' GROUP BY kind")'
    (tmp_path / "models.py").write_text(MODELS.format(stream_tables=decl.format(query=q2, schedule="5m")))
    changed = _autogenerate(cfg, tmp_path, "changed")
    assert "op.alter_stream_table('event_counts'" in changed
    assert "query=\"SELECT kind, count(*) AS n FROM events WHERE kind <> '' GROUP BY kind\"" in changed
    assert "existing_query='SELECT kind, count(*) AS n FROM events GROUP BY kind'" in changed
    command.upgrade(cfg, "head")
    assert _stream_tables(engine)["event_counts"][1] == "5m"
    assert "WHERE" in _stream_tables(engine)["event_counts"][0]
    command.downgrade(cfg, "-1")
    assert _stream_tables(engine)["event_counts"] == (
        "SELECT kind, count(*) AS n FROM events GROUP BY kind", "1m")
    command.upgrade(cfg, "head")

    # removed from the metadata: drop_stream_table, whose downgrade recreates it
    (tmp_path / "models.py").write_text(MODELS.format(stream_tables=""))
    removed = _autogenerate(cfg, tmp_path, "removed")
    assert "op.drop_stream_table('event_counts'" in removed
    assert "drop_table" not in removed
    command.upgrade(cfg, "head")
    assert _stream_tables(engine) == {}
    command.downgrade(cfg, "-1")
    assert set(_stream_tables(engine)) == {"event_counts"}
