"""Schema, initial data and random transactions of the random workload driver.

Everything here is a pure function of a random.Random: the same seed gives
the same tables and the same transaction plans.  A plan is executed by the
driver (driver.py), which decides nothing itself, so the statements a seed
sends do not depend on which queries are selected or on timing (what they
change can, when concurrent writers collide).

Values are chosen from small domains so that joins match, groups collide,
duplicate rows exist and NULLs are common.  Ids are taken from a range a
little larger than the populated one, so a statement may hit a row, miss,
or collide with one that exists.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

SCHEMA = """
CREATE TABLE regions (
    id   int PRIMARY KEY,
    name text NOT NULL,
    zone text
);
CREATE TABLE customers (
    id        int PRIMARY KEY,
    name      text,
    region_id int,
    tier      text,
    active    boolean,
    created   date
);
CREATE TABLE products (
    id       int PRIMARY KEY,
    name     text,
    category text,
    price    numeric(10,2)
);
CREATE TABLE orders (
    id          int PRIMARY KEY,
    customer_id int,
    order_date  date,
    status      text,
    amount      numeric(12,2),
    note        text
);
CREATE TABLE items (
    order_id   int REFERENCES orders (id) ON UPDATE CASCADE ON DELETE CASCADE,
    line       int,
    product_id int,
    qty        int,
    discount   numeric(4,2),
    PRIMARY KEY (order_id, line)
);
-- no key: duplicate rows on purpose; partitioned (issue 15, item 7), with a
-- partitioned default partition: updates of kind move rows between
-- partitions, COPY and writes through the root are routed, TRUNCATE of the
-- root truncates every partition
CREATE TABLE events (
    kind   text,
    val    int,
    amount numeric(10,2),
    flag   boolean,
    day    date
) PARTITION BY LIST (kind);
CREATE TABLE events_click PARTITION OF events FOR VALUES IN ('click');
CREATE TABLE events_other PARTITION OF events DEFAULT PARTITION BY LIST (kind);
CREATE TABLE events_view PARTITION OF events_other FOR VALUES IN ('view');
CREATE TABLE events_rest PARTITION OF events_other DEFAULT;
-- float8 (NaN, +-Infinity, values that print alike with
-- extra_float_digits = 0), numeric NaN/+-Infinity and arrays
CREATE TABLE readings (
    id     int PRIMARY KEY,
    sensor int,
    val    float8,
    amount numeric,
    tags   text[]
);
-- views as sources (issue 15, item 7): a view on a view, with a join
CREATE VIEW paid_orders AS
    SELECT id, customer_id, amount, status FROM orders WHERE status IN ('paid', 'shipped');
CREATE VIEW paid_order_regions AS
    SELECT o.id, o.amount, o.status, c.region_id, c.tier
      FROM paid_orders o JOIN customers c ON c.id = o.customer_id;
"""

TABLES = ("regions", "customers", "products", "orders", "items", "events", "readings")

REGION_NAMES = ("north", "south", "east", "west", "central", "islands")
ZONES = ("A", "B", None)
TIERS = ("gold", "silver", "bronze", None)
CATEGORIES = ("tools", "toys", "food", "books", None)
STATUSES = ("new", "paid", "shipped", "cancelled", None)
KINDS = ("click", "view", "buy", None)

MAX_REGION = 7        # regions 1..6 exist, 7 is dangling
MAX_CUSTOMER = 55     # 40 populated
MAX_PRODUCT = 26      # 20 populated
MAX_ORDER = 260       # 160 populated
MAX_LINE = 6
MAX_READING = 40      # 30 populated
MAX_SENSOR = 5

# 0.30000000000000004 and 0.3, 1.0000000000000002 and 1.0 print alike with
# extra_float_digits = 0; NaN and the infinities cannot be subtracted
VALS = (0.1, 0.2, 0.3, 0.30000000000000004, 1.0, 1.0000000000000002, 2.5, -7.25,
        float("nan"), float("inf"), float("-inf"), None)
# scale 2 throughout: a merged sum keeps the largest scale it ever saw (see
# docs/differential.md), which the text oracle would report
AMOUNTS = ("1.50", "2.50", "0.00", "-3.25", "10.00", "NaN", "Infinity", "-Infinity", None)
TAGS = (["a", "b"], ["b"], ["b", "a"], [], ["a", None], None)

BASE_DATE = datetime.date(2020, 1, 1)


def _maybe(r, p, value):
    """value, or None with probability p."""
    return None if r.random() < p else value


def _money(r, hi):
    return Decimal(r.randint(0, hi * 100)) / 100


def _date(r, span=1000):
    return BASE_DATE + datetime.timedelta(days=r.randint(0, span))


def region_row(r, rid):
    return (rid, REGION_NAMES[(rid - 1) % len(REGION_NAMES)] + ("" if rid <= 6 else str(rid)),
            r.choice(ZONES))


def customer_row(r, cid):
    return (cid, _maybe(r, 0.05, f"cust{cid:03d}"), _maybe(r, 0.15, r.randint(1, MAX_REGION)),
            r.choice(TIERS), r.choice((True, False, None)), _maybe(r, 0.15, _date(r)))


def product_row(r, pid):
    return (pid, _maybe(r, 0.05, f"prod{pid:02d}"), r.choice(CATEGORIES),
            _maybe(r, 0.15, Decimal(r.randint(100, 12000)) / 100))


def order_row(r, oid):
    return (oid, _maybe(r, 0.1, r.randint(1, MAX_CUSTOMER)), _maybe(r, 0.1, _date(r)),
            r.choice(STATUSES), _maybe(r, 0.1, _money(r, 300)),
            _maybe(r, 0.5, r.choice(("rush", "gift", "call first", "fragile", ""))))


def item_row(r, oid, line):
    return (oid, line, _maybe(r, 0.1, r.randint(1, MAX_PRODUCT)), _maybe(r, 0.1, r.randint(1, 10)),
            _maybe(r, 0.4, Decimal(r.randint(0, 50)) / 100))


def event_row(r):
    return (r.choice(KINDS), _maybe(r, 0.15, r.randint(1, 8)),
            _maybe(r, 0.2, Decimal(r.randint(0, 40)) / 4), r.choice((True, False, None)),
            _maybe(r, 0.2, _date(r, 60)))


def reading_row(r, rid):
    amount = r.choice(AMOUNTS)
    return (rid, _maybe(r, 0.1, r.randint(1, MAX_SENSOR)), r.choice(VALS),
            None if amount is None else Decimal(amount), r.choice(TAGS))


INSERT = {
    "regions": "INSERT INTO regions VALUES (%s, %s, %s)",
    "customers": "INSERT INTO customers VALUES (%s, %s, %s, %s, %s, %s)",
    "products": "INSERT INTO products VALUES (%s, %s, %s, %s)",
    "orders": "INSERT INTO orders VALUES (%s, %s, %s, %s, %s, %s)",
    "items": "INSERT INTO items VALUES (%s, %s, %s, %s, %s)",
    "events": "INSERT INTO events VALUES (%s::text, %s::int, %s::numeric, %s::boolean, %s::date)",
    "readings": "INSERT INTO readings VALUES (%s, %s::int, %s::float8, %s::numeric, %s::text[])",
}


def initial_data(r):
    """{table: [row, ...]} for a fresh database."""
    data = {t: [] for t in TABLES}
    data["regions"] = [region_row(r, i) for i in range(1, 7)]
    data["customers"] = [customer_row(r, i) for i in range(1, 41)]
    data["products"] = [product_row(r, i) for i in range(1, 21)]
    for oid in range(1, 161):
        data["orders"].append(order_row(r, oid))
        for line in range(1, r.randint(0, 4) + 1):
            data["items"].append(item_row(r, oid, line))
    # A pool of distinct event rows, each inserted 1 to 4 times.
    pool = [event_row(r) for _ in range(30)] + [(None, None, None, None, None)]
    for row in pool:
        data["events"].extend([row] * r.randint(1, 4))
    r.shuffle(data["events"])
    data["readings"] = [reading_row(r, i) for i in range(1, 31)]
    return data


# --- transaction plans ---------------------------------------------------------

@dataclass
class Plan:
    """One transaction: steps run in order between BEGIN and the end.

    A step is ("sql", [(statement, params), ...]) -- one operation, possibly
    several statements -- or ("savepoint", name), ("rollback_to", name),
    ("release", name), ("wait_refresh",) (only in long transactions: wait
    until a refresh has started, concurrent phase only).
    """
    kind: str                      # plain | savepoint | long | truncate
    steps: list = field(default_factory=list)
    end: str = "COMMIT"            # COMMIT | ROLLBACK

    def describe(self):
        n = sum(len(s[1]) for s in self.steps if s[0] == "sql")
        return f"{self.kind} tx, {n} statements, {self.end}"


def _op_insert_order(r):
    row = order_row(r, r.randint(1, MAX_ORDER))
    stmts = [(INSERT["orders"] + " ON CONFLICT (id) DO NOTHING", row)]
    for line in range(1, r.randint(0, 3) + 1):
        it = item_row(r, row[0], line)
        # Only when the order exists (it may be someone else's or deleted).
        stmts.append(("INSERT INTO items SELECT %s::int, %s::int, %s::int, %s::int, %s::numeric "
                      "WHERE EXISTS (SELECT 1 FROM orders WHERE id = %s::int) "
                      "ON CONFLICT (order_id, line) DO NOTHING", it + (row[0],)))
    return stmts


def _op_bulk_insert_orders(r):
    a = r.randint(1, MAX_ORDER + 40)
    b = a + r.randint(2, 30)
    k = r.randint(0, 1000)
    return [(
        "INSERT INTO orders (id, customer_id, order_date, status, amount, note) "
        "SELECT g, CASE WHEN g %% 9 = 0 THEN NULL ELSE (g * 7 + %(k)s) %% 55 + 1 END, "
        "DATE '2021-01-01' + (g * 13 + %(k)s) %% 700, "
        "(ARRAY['new','paid','shipped','cancelled',NULL])[(g + %(k)s) %% 5 + 1], "
        "CASE WHEN g %% 11 = 0 THEN NULL ELSE ((g * 37 + %(k)s) %% 30000) / 100.0 END, "
        "CASE WHEN g %% 3 = 0 THEN 'bulk' END "
        "FROM generate_series(%(a)s::int, %(b)s::int) g ON CONFLICT (id) DO NOTHING",
        {"a": a, "b": b, "k": k}), (
        "INSERT INTO items (order_id, line, product_id, qty, discount) "
        "SELECT o.id, l, (o.id * 3 + l + %(k)s) %% 26 + 1, "
        "CASE WHEN (o.id + l) %% 10 = 0 THEN NULL ELSE (o.id + l * %(k)s) %% 10 + 1 END, "
        "CASE WHEN l = 2 THEN 0.25 END "
        "FROM orders o, generate_series(1, (%(k)s + 1) %% 4) l "
        "WHERE o.id BETWEEN %(a)s::int AND %(b)s::int ON CONFLICT (order_id, line) DO NOTHING",
        {"a": a, "b": b, "k": k})]


def _op_insert_items(r):
    oid = r.randint(1, MAX_ORDER)
    line = r.randint(1, MAX_LINE)
    return [("INSERT INTO items SELECT id, %s::int, %s::int, %s::int, %s::numeric FROM orders "
             "WHERE id = %s::int ON CONFLICT (order_id, line) DO UPDATE SET qty = EXCLUDED.qty",
             item_row(r, oid, line)[1:] + (oid,))]


def _op_upsert_customer(r):
    row = customer_row(r, r.randint(1, MAX_CUSTOMER))
    return [(INSERT["customers"] + " ON CONFLICT (id) DO UPDATE SET region_id = EXCLUDED.region_id, "
             "tier = EXCLUDED.tier", row)]


def _op_insert_product(r):
    return [(INSERT["products"] + " ON CONFLICT (id) DO NOTHING", product_row(r, r.randint(1, MAX_PRODUCT)))]


def _op_upsert_region(r):
    return [(INSERT["regions"] + " ON CONFLICT (id) DO UPDATE SET zone = EXCLUDED.zone",
             region_row(r, r.randint(1, MAX_REGION)))]


def _op_update_order_values(r):
    oid = r.randint(1, MAX_ORDER)
    col, val = r.choice((
        ("amount", _maybe(r, 0.2, _money(r, 300))),
        ("status", r.choice(STATUSES)),
        ("note", _maybe(r, 0.4, r.choice(("rush", "gift", "updated", "")))),
        ("order_date", _maybe(r, 0.2, _date(r))),
    ))
    return [(f"UPDATE orders SET {col} = %s WHERE id = %s", (val, oid))]


def _op_update_order_group_key(r):
    # customer_id is the group key of several aggregates and a join key
    return [("UPDATE orders SET customer_id = %s::int WHERE id = %s",
             (_maybe(r, 0.15, r.randint(1, MAX_CUSTOMER)), r.randint(1, MAX_ORDER)))]


def _op_update_orders_range(r):
    a = r.randint(-20, MAX_ORDER)
    b = a + r.randint(0, 40)
    return [r.choice((
        ("UPDATE orders SET amount = amount + %s WHERE id BETWEEN %s AND %s",
         (_money(r, 20) - 10, a, b)),
        ("UPDATE orders SET status = %s WHERE id BETWEEN %s AND %s AND id %% 2 = 0",
         (r.choice(STATUSES), a, b)),
        ("UPDATE orders SET note = NULL WHERE id BETWEEN %s AND %s", (a, b)),
        ("UPDATE orders SET amount = amount WHERE id BETWEEN %s AND %s", (a, b)),   # no-op update
        ("UPDATE orders SET customer_id = (customer_id + %s) %% 55 + 1 WHERE id BETWEEN %s AND %s",
         (r.randint(1, 5), a, b)),
    ))]


def _op_update_order_pk(r):
    old = r.randint(1, MAX_ORDER)
    if r.random() < 0.5:
        new = r.randint(1, MAX_ORDER + 60)
        return [("UPDATE orders SET id = %(new)s WHERE id = %(old)s "
                 "AND NOT EXISTS (SELECT 1 FROM orders WHERE id = %(new)s)", {"new": new, "old": old})]
    # negate a block of ids (and back): bulk primary key change, items follow by cascade
    b = old + r.randint(0, 15)
    if r.random() < 0.5:
        return [("UPDATE orders SET id = -id WHERE id BETWEEN %s AND %s", (old, b))]
    return [("UPDATE orders SET id = -id WHERE id BETWEEN %s AND %s", (-b, -old))]


def _op_update_customer(r):
    cid = r.randint(1, MAX_CUSTOMER)
    return [r.choice((
        ("UPDATE customers SET region_id = %s::int WHERE id = %s",      # group key change
         (_maybe(r, 0.2, r.randint(1, MAX_REGION)), cid)),
        ("UPDATE customers SET tier = %s WHERE id = %s", (r.choice(TIERS), cid)),
        ("UPDATE customers SET active = %s::boolean, created = %s::date WHERE id = %s",
         (r.choice((True, False, None)), _maybe(r, 0.2, _date(r)), cid)),
        ("UPDATE customers SET name = %s WHERE id = %s", (_maybe(r, 0.2, f"renamed{cid}"), cid)),
    ))]


def _op_update_customer_pk(r):
    old = r.randint(1, MAX_CUSTOMER)
    new = r.randint(1, MAX_CUSTOMER + 10)
    return [("UPDATE customers SET id = %(new)s WHERE id = %(old)s "
             "AND NOT EXISTS (SELECT 1 FROM customers WHERE id = %(new)s)", {"new": new, "old": old})]


def _op_update_product(r):
    pid = r.randint(1, MAX_PRODUCT)
    return [r.choice((
        ("UPDATE products SET category = %s WHERE id = %s", (r.choice(CATEGORIES), pid)),
        ("UPDATE products SET price = %s::numeric WHERE id = %s",
         (_maybe(r, 0.2, Decimal(r.randint(100, 12000)) / 100), pid)),
        ("UPDATE products SET price = price * 2 WHERE id BETWEEN %s AND %s", (pid, pid + 5)),
    ))]


def _op_update_region(r):
    rid = r.randint(1, MAX_REGION)
    return [r.choice((
        ("UPDATE regions SET zone = %s WHERE id = %s", (r.choice(ZONES), rid)),
        ("UPDATE regions SET name = name || 'x' WHERE id = %s", (rid,)),
        ("UPDATE regions SET id = %(new)s WHERE id = %(old)s "
         "AND NOT EXISTS (SELECT 1 FROM regions WHERE id = %(new)s)",
         {"new": r.randint(1, MAX_REGION + 2), "old": rid}),
    ))]


def _op_update_items(r):
    a = r.randint(1, MAX_ORDER)
    b = a + r.randint(0, 30)
    return [r.choice((
        ("UPDATE items SET qty = qty + 1 WHERE order_id BETWEEN %s AND %s", (a, b)),
        ("UPDATE items SET product_id = %s::int WHERE order_id = %s",
         (_maybe(r, 0.2, r.randint(1, MAX_PRODUCT)), a)),
        ("UPDATE items SET discount = NULL WHERE order_id BETWEEN %s AND %s", (a, b)),
        # composite primary key change
        ("UPDATE items SET line = line + 10 WHERE order_id = %s", (a,)),
        ("UPDATE items SET qty = NULL WHERE order_id BETWEEN %s AND %s AND line = 1", (a, b)),
    ))]


def _op_delete(r):
    a = r.randint(1, MAX_ORDER)
    return [r.choices((
        ("DELETE FROM orders WHERE id = %s", (a,)),
        ("DELETE FROM orders WHERE id BETWEEN %s AND %s", (a, a + r.randint(1, 12))),
        ("DELETE FROM items WHERE order_id BETWEEN %s AND %s AND line > 1", (a, a + r.randint(1, 20))),
        ("DELETE FROM customers WHERE id = %s", (r.randint(1, MAX_CUSTOMER),)),
        ("DELETE FROM products WHERE id = %s", (r.randint(1, MAX_PRODUCT),)),
        ("DELETE FROM regions WHERE id = %s", (r.randint(1, MAX_REGION),)),
    ), (3, 2, 2, 1, 1, 0.3))[0]]


def _op_events(r):
    row = event_row(r)
    val = r.randint(1, 8)
    kind = r.choice(KINDS)
    return [r.choices((
        # several copies of one row at once
        ("INSERT INTO events SELECT %s::text, %s::int, %s::numeric, %s::boolean, %s::date "
         "FROM generate_series(1, %s)", row + (r.randint(1, 4),)),
        (INSERT["events"], row),
        # one copy of a duplicated row goes, the others stay
        ("DELETE FROM events WHERE ctid IN (SELECT ctid FROM events WHERE val = %s LIMIT 1)", (val,)),
        # every copy goes
        ("DELETE FROM events WHERE kind IS NOT DISTINCT FROM %s::text AND val = %s", (kind, val)),
        # one copy changes its group key
        ("UPDATE events SET kind = %s::text WHERE ctid IN "
         "(SELECT ctid FROM events WHERE kind IS NOT DISTINCT FROM %s::text LIMIT 1)",
         (r.choice(KINDS), kind)),
        ("UPDATE events SET val = val + 1 WHERE val BETWEEN %s AND %s", (val, val + 1)),
        ("UPDATE events SET val = 1 WHERE val > 8", None),
        ("UPDATE events SET amount = NULL, day = NULL WHERE val = %s", (val,)),
        # duplicate everything matching
        ("INSERT INTO events SELECT * FROM events WHERE val = %s", (val,)),
    ), (3, 2, 2, 1, 1, 1, 0.5, 1, 0.5))[0]]


def _op_readings(r):
    rid = r.randint(1, MAX_READING)
    lo = r.randint(1, MAX_READING)
    hi = lo + r.randint(0, 10)
    amount = r.choice(AMOUNTS)
    return [r.choices((
        (INSERT["readings"] + " ON CONFLICT (id) DO UPDATE SET val = EXCLUDED.val, "
         "amount = EXCLUDED.amount", reading_row(r, rid)),
        ("UPDATE readings SET val = %s::float8 WHERE id = %s", (r.choice(VALS), rid)),
        ("UPDATE readings SET amount = %s::numeric WHERE id BETWEEN %s AND %s",
         (None if amount is None else Decimal(amount), lo, hi)),
        ("UPDATE readings SET tags = %s::text[] WHERE id = %s", (r.choice(TAGS), rid)),
        ("UPDATE readings SET tags = tags || %s::text WHERE id BETWEEN %s AND %s",
         (r.choice(("a", "c", None)), lo, hi)),
        ("UPDATE readings SET sensor = %s::int WHERE id = %s",      # group key change
         (_maybe(r, 0.15, r.randint(1, MAX_SENSOR)), rid)),
        # a value that prints alike with extra_float_digits = 0 replaces its twin
        ("UPDATE readings SET val = CASE val WHEN 0.3 THEN 0.30000000000000004::float8 "
         "WHEN 0.30000000000000004 THEN 0.3 WHEN 1 THEN 1.0000000000000002::float8 "
         "WHEN 1.0000000000000002 THEN 1 ELSE val END WHERE id BETWEEN %s AND %s", (lo, hi)),
        ("DELETE FROM readings WHERE id BETWEEN %s AND %s", (lo, lo + r.randint(0, 3))),
    ), (3, 3, 2, 2, 1, 2, 2, 2))[0]]


def _events_refill(r):
    """A few rows, some of them duplicated, so the keyless table fills up again."""
    rows = [event_row(r) for _ in range(r.randint(4, 10))]
    stmts = [(INSERT["events"], row) for row in rows]
    stmts.append(("INSERT INTO events SELECT %s::text, %s::int, %s::numeric, %s::boolean, %s::date "
                  "FROM generate_series(1, 3)", rows[0]))
    return stmts


def _op_churn(r):
    """One row inserted, changed (also its key) and maybe deleted again in one transaction."""
    row = order_row(r, r.randint(MAX_ORDER + 1, MAX_ORDER + 100))
    new_id = r.randint(MAX_ORDER + 101, MAX_ORDER + 200)
    stmts = [(INSERT["orders"] + " ON CONFLICT (id) DO NOTHING", row),
             ("INSERT INTO items SELECT id, 1, %s::int, 2, NULL FROM orders WHERE id = %s "
              "ON CONFLICT (order_id, line) DO NOTHING", (r.randint(1, MAX_PRODUCT), row[0])),
             ("UPDATE orders SET amount = coalesce(amount, 0) + 1, status = %s WHERE id = %s",
              (r.choice(STATUSES), row[0])),
             ("UPDATE orders SET id = %(new)s WHERE id = %(old)s "
              "AND NOT EXISTS (SELECT 1 FROM orders WHERE id = %(new)s)", {"new": new_id, "old": row[0]})]
    if r.random() < 0.6:
        stmts.append(("DELETE FROM orders WHERE id IN (%s, %s)", (row[0], new_id)))
    if r.random() < 0.3:
        # and a change that is undone: no net change
        cid = r.randint(1, MAX_CUSTOMER)
        stmts += [("UPDATE customers SET tier = 'temp' || coalesce(tier, '') WHERE id = %s", (cid,)),
                  ("UPDATE customers SET tier = nullif(substr(tier, 5), '') WHERE id = %s", (cid,))]
    return stmts


def _op_writable_cte(r):
    """Delete and insert in one statement (a data-modifying WITH)."""
    a = r.randint(1, MAX_ORDER)
    return [r.choice((
        # move orders to other ids; their items go with the delete (cascade)
        ("WITH moved AS (DELETE FROM orders WHERE id BETWEEN %s AND %s RETURNING *) "
         "INSERT INTO orders SELECT id + 1000, customer_id, order_date, status, amount, note "
         "FROM moved ON CONFLICT (id) DO NOTHING", (a, a + r.randint(0, 5))),
        # change a product and log it in the keyless table
        ("WITH changed AS (UPDATE products SET price = coalesce(price, 1) + 1 WHERE id = %s "
         "RETURNING category, price) "
         "INSERT INTO events SELECT category, 1, price, true, NULL FROM changed",
         (r.randint(1, MAX_PRODUCT),)),
    ))]


def _op_merge(r):
    """MERGE: insert, update and delete in one statement."""
    lo = r.randint(1, MAX_CUSTOMER)
    hi = lo + r.randint(0, 8)
    return [("MERGE INTO customers c USING (SELECT g AS id FROM generate_series(%s::int, %s::int) g) s "
             "ON c.id = s.id "
             "WHEN MATCHED AND c.id %% 3 = 0 THEN DELETE "
             "WHEN MATCHED THEN UPDATE SET region_id = (coalesce(c.region_id, 0) + 1) %% 8, tier = %s "
             "WHEN NOT MATCHED THEN INSERT VALUES (s.id, 'merged' || s.id::text, %s::int, NULL, true, NULL)",
             (lo, hi, r.choice(TIERS), r.randint(1, MAX_REGION)))]


class Copy:
    """Rows for COPY ... FROM STDIN (the driver sends them with psycopg's copy)."""

    def __init__(self, rows):
        self.rows = rows

    def __repr__(self):
        return f"COPY rows {self.rows!r}"


def _op_copy(r):
    rows = [event_row(r) for _ in range(r.randint(1, 4))]
    rows += [rows[0]] * r.randint(0, 2)
    return [("COPY events (kind, val, amount, flag, day) FROM STDIN", Copy(rows))]


def _op_truncate(r):
    which = r.random()
    if which < 0.5:
        return [("TRUNCATE events", None)] + (_events_refill(r) if r.random() < 0.7 else [])
    if which < 0.8:
        return [("TRUNCATE regions", None)] + [
            (INSERT["regions"], region_row(r, i)) for i in range(1, 7) if r.random() < 0.8]
    # orders and (through the foreign key) items
    return [("TRUNCATE orders CASCADE", None)] + _op_bulk_insert_orders(r)


_OPS = (
    (_op_insert_order, 8),
    (_op_bulk_insert_orders, 3),
    (_op_insert_items, 5),
    (_op_upsert_customer, 3),
    (_op_insert_product, 2),
    (_op_upsert_region, 3),
    (_op_update_order_values, 8),
    (_op_update_order_group_key, 5),
    (_op_update_orders_range, 4),
    (_op_update_order_pk, 3),
    (_op_update_customer, 5),
    (_op_update_customer_pk, 2),
    (_op_update_product, 3),
    (_op_update_region, 1),
    (_op_update_items, 4),
    (_op_delete, 6),
    (_op_events, 8),
    (_op_churn, 3),
    (_op_writable_cte, 1),
    (_op_merge, 1),
    (_op_copy, 1),
    (_op_readings, 5),
)
_OP_FUNCS = [f for f, _ in _OPS]
_OP_WEIGHTS = [w for _, w in _OPS]


def random_op(r):
    return ("sql", r.choices(_OP_FUNCS, _OP_WEIGHTS)[0](r))


def _ops(r, lo, hi):
    return [random_op(r) for _ in range(r.randint(lo, hi))]


def random_plan(r, allow_long=True, truncate_rate=0.01):
    """A random transaction plan."""
    x = r.random()
    if x < truncate_rate:
        plan = Plan("truncate", _ops(r, 0, 1) + [("sql", _op_truncate(r))] + _ops(r, 0, 2))
    elif allow_long and x < 0.17:
        plan = Plan("long", _ops(r, 1, 3) + [("wait_refresh",)] + _ops(r, 0, 1))
    elif x < 0.40:
        steps = _ops(r, 0, 2) + [("savepoint", "s1")] + _ops(r, 1, 3)
        if r.random() < 0.3:
            # nested: released inside, then rolled back with the outer one
            steps += [("savepoint", "s2")] + _ops(r, 1, 2) + [("release", "s2")]
        steps += [("rollback_to", "s1")] + _ops(r, 0, 2)
        if r.random() < 0.4:
            steps += [("savepoint", "s3")] + _ops(r, 1, 2) + [("release", "s3")]
        plan = Plan("savepoint", steps)
    else:
        plan = Plan("plain", _ops(r, 1, 4))
    if r.random() < 0.1:
        plan.end = "ROLLBACK"
    return plan
