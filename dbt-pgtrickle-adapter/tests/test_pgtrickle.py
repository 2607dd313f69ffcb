"""What the pgtrickle adapter adds to dbt-postgres (README.md, items 2-5):
stream tables as relation type `stream_table`, never renamed, dropped
through the extension; hidden __pgt_* columns hidden; source freshness from
data_timestamp; the extension checked when a connection opens.

Stream tables are made here with SQL (pgtrickle.create_stream_table), so
that these tests do not depend on the macro package; scenarios.py covers the
stream_table materialization under this adapter."""

import json
import os

import psycopg2
import pytest
from dbt.adapters.contracts.connection import Connection
from dbt.adapters.exceptions import FailedToConnectError
from dbt.tests.util import get_connection, run_dbt, run_dbt_and_capture

from dbt.adapters.pgtrickle.connections import (
    PgTrickleConnectionManager,
    PgTrickleCredentials,
    extension_problem,
    parse_version,
)
from dbt.adapters.pgtrickle.relation import PgTrickleRelationType

SEED_CSV = "id,amount\n1,10\n2,20\n3,30\n"


def create_stream_table(project, name, query):
    project.run_sql(
        f"select pgtrickle.create_stream_table('{project.test_schema}.{name}', $q${query}$q$)"
    )


def catalog_row(project, name):
    return project.run_sql(
        f"select pgt_name, status from pgtrickle.pgt_stream_tables"
        f" where pgt_schema = '{project.test_schema}' and pgt_name = '{name}'",
        fetch="one",
    )


def relkind(project, name):
    row = project.run_sql(
        f"select relkind from pg_class where oid = to_regclass('{project.test_schema}.{name}')",
        fetch="one",
    )
    return row[0] if row else None


class StreamTableProject:
    """A seed `orders`, a stream table `totals` over it, made before each test."""

    @pytest.fixture(scope="class")
    def seeds(self):
        return {"orders.csv": SEED_CSV}

    @pytest.fixture(scope="class", autouse=True)
    def setup_stream_table(self, project):
        run_dbt(["seed"])
        create_stream_table(project, "totals",
                            f"select id, sum(amount) as total from {project.test_schema}.orders group by id")
        yield


# --- item 2: relation type stream_table --------------------------------------

class TestListRelations(StreamTableProject):
    @pytest.fixture(scope="class")
    def models(self):
        return {"a_view.sql": "select 1 as x", "a_table.sql": "{{ config(materialized='table') }} select 1 as x"}

    def test_stream_table_listed_as_stream_table(self, project):
        run_dbt(["run"])
        adapter = project.adapter
        schema_relation = adapter.Relation.create(database=project.database, schema=project.test_schema)
        with get_connection(adapter):
            relations = adapter.list_relations_without_caching(schema_relation)
        types = {r.identifier: r.type for r in relations}
        assert types["totals"] == PgTrickleRelationType.StreamTable
        assert str(types["totals"]) == "stream_table"
        assert types["orders"] == "table"
        assert types["a_table"] == "table"
        assert types["a_view"] == "view"
        rel = [r for r in relations if r.identifier == "totals"][0]
        assert rel.is_stream_table and not rel.is_table
        assert not rel.can_be_renamed and not rel.can_be_replaced


class TestDropStreamTable(StreamTableProject):
    def test_drop_relation_goes_through_the_extension(self, project):
        adapter = project.adapter
        relation = adapter.Relation.create(database=project.database, schema=project.test_schema,
                                           identifier="totals", type="stream_table")
        with get_connection(adapter):
            adapter.connections.begin()
            adapter.drop_relation(relation)
            # a second drop of a name that no longer exists is a no-op, as dbt's "if exists"
            adapter.drop_relation(relation)
            adapter.connections.commit()
        assert catalog_row(project, "totals") is None
        assert relkind(project, "totals") is None


DDL_LOG_SETUP = """
create table if not exists public.pgt_ddl_log (tag text, identity text);
create or replace function public.pgt_log_ddl() returns event_trigger language plpgsql as $$
begin
  insert into public.pgt_ddl_log
  select command_tag, object_identity from pg_event_trigger_ddl_commands();
end $$;
drop event trigger if exists pgt_log_ddl;
create event trigger pgt_log_ddl on ddl_command_end execute function public.pgt_log_ddl();
truncate public.pgt_ddl_log;
"""
DDL_LOG_TEARDOWN = "drop event trigger if exists pgt_log_ddl; drop table if exists public.pgt_ddl_log"


class SwitchToPlain(StreamTableProject):
    materialized = ""

    @pytest.fixture(scope="class")
    def models(self):
        return {"totals.sql": "{{ config(materialized='" + self.materialized + "') }}\n"
                "select id, sum(amount) as total from {{ ref('orders') }} group by id"}

    def test_switch_drops_never_renames(self, project):
        project.run_sql(DDL_LOG_SETUP)
        try:
            _, out = run_dbt_and_capture(["run"])
            renames = project.run_sql(
                "select tag, identity from public.pgt_ddl_log where identity like '%%__dbt_backup%%'",
                fetch="all")
        finally:
            project.run_sql(DDL_LOG_TEARDOWN)
        # the stream table was never renamed (to dbt's backup name) ...
        assert renames == [], f"stream table renamed: {renames}"
        assert "is a stream table; it is dropped" in out
        # ... no catalog row left, and the model's contents are there
        assert catalog_row(project, "totals") is None
        assert project.run_sql("select count(*) from pgtrickle.pgt_stream_tables", fetch="one")[0] == 0
        assert relkind(project, "totals") == ("r" if self.materialized == "table" else "v")
        rows = project.run_sql(f"select id, total from {project.test_schema}.totals order by id", fetch="all")
        assert [(r[0], int(r[1])) for r in rows] == [(1, 10), (2, 20), (3, 30)]


class TestSwitchStreamTableToTable(SwitchToPlain):
    materialized = "table"


class TestSwitchStreamTableToView(SwitchToPlain):
    materialized = "view"


# --- item 3: hidden columns --------------------------------------------------

SOURCES_YML = """
version: 2
sources:
  - name: st
    schema: "{{ target.schema }}"
    freshness:
      warn_after: {count: 1, period: hour}
      error_after: {count: 2, period: hour}
    tables:
      - name: totals
      - name: orders
        freshness: null
"""


class TestHiddenColumns(StreamTableProject):
    @pytest.fixture(scope="class")
    def models(self):
        return {"sources.yml": SOURCES_YML,
                "star.sql": "select {{ dbt_utils_star_free(source('st', 'totals')) }} from {{ source('st', 'totals') }}"}

    @pytest.fixture(scope="class")
    def macros(self):
        # a star() as dbt_utils writes it: the column list of the relation
        return {"star.sql": """
{% macro dbt_utils_star_free(relation) -%}
  {%- for col in adapter.get_columns_in_relation(relation) -%}
    {{ adapter.quote(col.name) }}{{ ", " if not loop.last }}
  {%- endfor -%}
{%- endmacro %}"""}

    def test_get_columns_in_relation(self, project):
        adapter = project.adapter
        relation = adapter.Relation.create(database=project.database, schema=project.test_schema,
                                           identifier="totals")
        with get_connection(adapter):
            names = [c.name for c in adapter.get_columns_in_relation(relation)]
        # the extension has them ...
        stored = project.run_sql(
            f"select attname from pg_attribute where attrelid = '{project.test_schema}.totals'::regclass"
            " and attnum > 0 and not attisdropped order by attnum", fetch="all")
        assert any(r[0].startswith("__pgt_") for r in stored)
        # ... dbt does not see them
        assert names == ["id", "total"]
        run_dbt(["run", "-s", "star"])
        cols = project.run_sql(
            f"select attname from pg_attribute where attrelid = '{project.test_schema}.star'::regclass"
            " and attnum > 0 order by attnum", fetch="all")
        assert [c[0] for c in cols] == ["id", "total"]

    def test_docs_generate_catalog(self, project):
        run_dbt(["run"])
        run_dbt(["docs", "generate"])
        with open(os.path.join(project.project_root, "target", "catalog.json")) as f:
            catalog = json.load(f)
        source = catalog["sources"]["source.test.st.totals"]
        assert sorted(source["columns"]) == ["id", "total"]
        for node in catalog["nodes"].values():
            assert not [c for c in node["columns"] if c.startswith("__pgt_")]

    def test_docs_generate_stats(self, project):
        """Item 6: pg_trickle's view of a stream table as catalog stats."""
        run_dbt(["docs", "generate"])
        with open(os.path.join(project.project_root, "target", "catalog.json")) as f:
            catalog = json.load(f)
        source = catalog["sources"]["source.test.st.totals"]
        assert source["metadata"]["type"] == "STREAM TABLE"
        stats = {k: v["value"] for k, v in source["stats"].items() if v["include"]}
        assert stats["pgtrickle_status"] == "ACTIVE"
        assert stats["pgtrickle_refresh_mode"] == "DIFFERENTIAL"
        assert stats["pgtrickle_schedule"] == "1m"
        assert stats["pgtrickle_stale"] == "no"
        assert stats["pgtrickle_sources"] == f"{project.test_schema}.orders"
        assert stats["pgtrickle_data_timestamp"]
        assert source["stats"]["has_stats"]["value"] is True
        plain = catalog["sources"]["source.test.st.orders"]
        assert plain["metadata"]["type"] == "BASE TABLE"
        assert not [k for k, v in plain["stats"].items() if v["include"]]


# --- item 4: source freshness from data_timestamp -----------------------------

class TestSourceFreshness(StreamTableProject):
    @pytest.fixture(scope="class")
    def models(self):
        return {"sources.yml": SOURCES_YML}

    def test_freshness_is_data_timestamp(self, project):
        run_dbt(["source", "freshness", "-s", "source:st.totals"])
        with open(os.path.join(project.project_root, "target", "sources.json")) as f:
            results = json.load(f)["results"]
        assert len(results) == 1 and results[0]["status"] == "pass", results
        stored = project.run_sql(
            f"select extract(epoch from data_timestamp) from pgtrickle.pgt_stream_tables"
            f" where pgt_schema = '{project.test_schema}' and pgt_name = 'totals'", fetch="one")[0]
        import datetime
        reported = datetime.datetime.fromisoformat(results[0]["max_loaded_at"].replace("Z", "+00:00"))
        assert abs(reported.timestamp() - float(stored)) < 0.001

    def test_never_refreshed_is_an_error(self, project):
        project.run_sql(f"select pgtrickle.drop_stream_table('{project.test_schema}.totals')")
        project.run_sql(
            f"select pgtrickle.create_stream_table('{project.test_schema}.totals',"
            f" 'select id from {project.test_schema}.orders', initialize => false)")
        run_dbt(["source", "freshness", "-s", "source:st.totals"], expect_pass=False)
        with open(os.path.join(project.project_root, "target", "sources.json")) as f:
            results = json.load(f)["results"]
        assert results[0]["status"] == "error", results

    def test_plain_table_needs_loaded_at_field(self, project, tmp_path):
        # the same source file with freshness on the plain table orders too
        yml = SOURCES_YML.replace("        freshness: null\n", "")
        with open(os.path.join(project.project_root, "models", "sources.yml"), "w") as f:
            f.write(yml)
        _, out = run_dbt_and_capture(["source", "freshness", "-s", "source:st.orders"], expect_pass=False)
        assert "is not a pg_trickle stream table" in out
        assert "loaded_at_field" in out


# --- item 5: the extension checked when a connection opens -------------------

def superuser_conn():
    conn = psycopg2.connect(dbname="postgres")
    conn.autocommit = True
    return conn


@pytest.fixture(scope="module")
def other_databases():
    conn = superuser_conn()
    with conn.cursor() as cur:
        for db in ("pgt_adapter_noext", "pgt_adapter_old"):
            cur.execute(f"drop database if exists {db}")
            cur.execute(f"create database {db}")
    old = psycopg2.connect(dbname="pgt_adapter_old")
    old.autocommit = True
    with old.cursor() as cur:
        cur.execute("create extension pg_trickle version '0.1.0'")
    old.close()
    yield
    with conn.cursor() as cur:
        for db in ("pgt_adapter_noext", "pgt_adapter_old"):
            cur.execute(f"drop database if exists {db}")
    conn.close()


def open_connection(dbname):
    credentials = PgTrickleCredentials(
        host=os.environ.get("PGHOST", "localhost"), port=int(os.environ.get("PGPORT", "5432")),
        user=os.environ.get("PGUSER", "postgres"), password=os.environ.get("PGPASSWORD", ""),
        database=dbname, schema="public")
    connection = Connection(type="pgtrickle", name="check", credentials=credentials)
    return PgTrickleConnectionManager.open(connection)


def test_connection_without_extension(other_databases):
    with pytest.raises(FailedToConnectError, match='pg_trickle is not installed in database "pgt_adapter_noext"'):
        open_connection("pgt_adapter_noext")


def test_connection_with_old_extension(other_databases):
    with pytest.raises(FailedToConnectError, match=r"pg_trickle 0\.1\.0 .* is too old .* needs 0\.2\.0 or later"):
        open_connection("pgt_adapter_old")


def test_connection_with_extension():
    connection = open_connection(os.environ.get("PGDATABASE", "postgres"))
    assert connection.state == "open"
    connection.handle.close()


def test_version_parsing():
    assert parse_version("0.2.0") == (0, 2, 0)
    assert parse_version("1.10.0beta1") == (1, 10, 0)
    assert extension_problem("db", "0.2.0") is None
    assert extension_problem("db", "0.10.0") is None
    assert "too old" in (extension_problem("db", "0.1.9") or "")


# --- item 7: on_configuration_change (the macro package's materialization) ---

LIVE_SQL = """{{ config(materialized='stream_table',
                 schedule=var('schedule', '1m'),
                 on_configuration_change=var('on_change', 'apply')) }}
select id, amount from {{ ref('orders') }}
"""


@pytest.mark.skipif(not os.environ.get("PGT_DBT_PACKAGE"),
                    reason="PGT_DBT_PACKAGE (the macro package dbt-pgtrickle) not given")
class TestOnConfigurationChange:
    @pytest.fixture(scope="class")
    def packages(self):
        return {"packages": [{"local": os.environ.get("PGT_DBT_PACKAGE", "")}]}

    @pytest.fixture(scope="class")
    def seeds(self):
        return {"orders.csv": SEED_CSV}

    @pytest.fixture(scope="class")
    def models(self):
        return {"live.sql": LIVE_SQL}

    def schedule(self, project):
        return project.run_sql(
            f"select schedule from pgtrickle.pgt_stream_tables where pgt_schema = '{project.test_schema}'"
            " and pgt_name = 'live'", fetch="one")[0]

    def test_apply_continue_fail(self, project):
        run_dbt(["deps"])
        run_dbt(["seed"])
        run_dbt(["run"])
        assert self.schedule(project) == "1m"
        # continue: left as it is, with a warning naming what differs
        _, out = run_dbt_and_capture(["run", "--vars", "{schedule: 5m, on_change: continue}"])
        assert "differs from model live (schedule)" in out and "'continue'" in out
        assert self.schedule(project) == "1m"
        # fail: the model fails, nothing changes
        _, out = run_dbt_and_capture(["run", "--vars", "{schedule: 5m, on_change: fail}"], expect_pass=False)
        assert "on_configuration_change is 'fail'" in out
        assert self.schedule(project) == "1m"
        # --full-refresh applies whatever the setting
        run_dbt(["run", "--full-refresh", "--vars", "{schedule: 5m, on_change: fail}"])
        assert self.schedule(project) == "5m"
        # apply (the default) alters in place
        run_dbt(["run"])
        assert self.schedule(project) == "1m"


CONTRACT_YML = """
version: 2
models:
  - name: contracted
    config:
      contract: {enforced: true}
    columns:
      - name: id
        data_type: integer
        constraints: [{type: not_null}]
      - name: amount
        data_type: {amount_type}
"""


@pytest.mark.skipif(not os.environ.get("PGT_DBT_PACKAGE"),
                    reason="PGT_DBT_PACKAGE (the macro package dbt-pgtrickle) not given")
class TestContract:
    @pytest.fixture(scope="class")
    def packages(self):
        return {"packages": [{"local": os.environ.get("PGT_DBT_PACKAGE", "")}]}

    @pytest.fixture(scope="class")
    def seeds(self):
        return {"orders.csv": SEED_CSV}

    @pytest.fixture(scope="class")
    def models(self):
        return {"contracted.sql": "{{ config(materialized='stream_table') }}\n"
                                  "select id, amount from {{ ref('orders') }}",
                "schema.yml": CONTRACT_YML.replace("{amount_type}", "integer")}

    def test_contract_checked(self, project):
        run_dbt(["deps"])
        run_dbt(["seed"])
        # the seed's amount is an integer: the contract holds; the
        # constraint is not applied, and the run says so
        _, out = run_dbt_and_capture(["run"])
        assert "constraints are not applied to stream tables" in out
        assert catalog_row(project, "contracted") is not None
        # a contract the query breaks fails the model before anything changes
        with open(os.path.join(project.project_root, "models", "schema.yml"), "w") as f:
            f.write(CONTRACT_YML.replace("{amount_type}", "text"))
        project.run_sql(f"select pgtrickle.drop_stream_table('{project.test_schema}.contracted')")
        _, out = run_dbt_and_capture(["run"], expect_pass=False)
        assert "contract" in out.lower() and "amount" in out
        assert catalog_row(project, "contracted") is None
