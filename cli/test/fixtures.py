"""Databases and stream tables the CLI tests work on.

Each group of tests gets its own database (made once, on first use), so
that what one group creates does not change what another group's
database-wide outputs (list, stats, health) must show.
"""

from harness import CFG, create_database, qlit, sql_exec, sql_rows, sql_value

SOURCES = """
CREATE EXTENSION pg_trickle;
CREATE TABLE orders (
    id int PRIMARY KEY,
    customer text NOT NULL,
    amount numeric(10,2) NOT NULL,
    region text
);
INSERT INTO orders
SELECT g, 'c' || (g % 7), (g * 37 % 101) + 0.25,
       CASE g % 3 WHEN 0 THEN 'north' WHEN 1 THEN 'south' END
FROM generate_series(1, 300) g;
CREATE TABLE divisors (id int PRIMARY KEY, n int NOT NULL, d int NOT NULL);
INSERT INTO divisors SELECT g, g * 10, g % 5 + 1 FROM generate_series(1, 50) g;
"""

# Defining queries used by several tests.
Q_TOTALS = ("SELECT customer, count(*) AS n, sum(amount) AS total "
            "FROM orders GROUP BY customer")
Q_NORTH = "SELECT id, customer, amount FROM orders WHERE region = 'north'"
Q_SOUTH = "SELECT id, customer, amount FROM orders WHERE region = 'south'"
Q_QUOT = "SELECT id, n / d AS q FROM divisors"

_made = {}


def database(name):
    """Database NAME with pg_trickle and the source tables (made once)."""
    if name not in _made:
        create_database(name)
        sql_exec(name, SOURCES)
        _made[name] = True
    return name


def fresh_database(name):
    """Database NAME made anew (dropped first if it exists)."""
    _made.pop(name, None)
    return database(name)


def create_st(db, name, query, schedule="1h", mode=None, initialize=True):
    args = [qlit(name), qlit(query), f"schedule => {qlit(schedule)}"]
    if mode:
        args.append(f"refresh_mode => {qlit(mode)}")
    if not initialize:
        args.append("initialize => false")
    sql_exec(db, f"SELECT pgtrickle.create_stream_table({', '.join(args)});")


def drop_st_if_exists(db, name, cascade=True):
    if st_exists(db, name):
        sql_exec(db, f"SELECT pgtrickle.drop_stream_table({qlit(name)}, cascade => {str(cascade).lower()});")


def st_row(db, name, view="pgtrickle.pgt_stream_tables"):
    """The catalog row of stream table NAME (a SQL name) or None."""
    rows = sql_rows(db, f"SELECT s.* FROM {view} s WHERE s.pgt_id = "
                        f"(SELECT pgt_id FROM pgtrickle.pgt_stream_tables "
                        f" WHERE pgt_relid = to_regclass({qlit(name)}))")
    return rows[0] if rows else None


def st_exists(db, name):
    return sql_value(db, f"SELECT count(*) FROM pgtrickle.pgt_stream_tables "
                         f"WHERE pgt_relid = to_regclass({qlit(name)})") == "1"


def stat_rows(db):
    return sql_rows(db, "SELECT * FROM pgtrickle.pg_stat_stream_tables ORDER BY pgt_schema, pgt_name")


def set_scheduler(on):
    """Turn the scheduler on or off for the whole cluster (reload)."""
    sql_exec("postgres", f"ALTER SYSTEM SET pg_trickle.enabled = {'on' if on else 'off'};"
                         "SELECT pg_reload_conf();")
    # wait until a new session sees the setting
    want = "on" if on else "off"
    import harness
    harness.wait_until(lambda: sql_value("postgres", "SHOW pg_trickle.enabled") == want,
                       f"pg_trickle.enabled = {want}")


def datadir():
    return CFG.datadir
