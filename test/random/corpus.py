"""Defining queries of the random workload driver (test/random/driver.py).

Every entry has an id, a one-line comment saying what it covers, and the
query.  The stream table of entry ID is named st_ID; a query that reads
another stream table names it (st_OTHER) and the driver creates OTHER
first (dependencies are found by that name).  Entries are listed so that a
stream table always comes after the ones it reads.

The queries stay inside what the differential engine supports (see
src/delta/README.md): projection, WHERE, immutable functions, CASE, inner /
cross / self / non-equi joins, LEFT / RIGHT / FULL outer joins
(chains, mixed with inner joins, under aggregates), [NOT] EXISTS, [NOT] IN in WHERE,
UNION ALL, UNION / INTERSECT [ALL] / EXCEPT [ALL], subqueries in FROM, non-recursive
CTEs, EXISTS/IN under OR, as values and in CASE, scalar subqueries
without an aggregate, subqueries in ON conditions (onqual.c), GROUP BY with count/sum/avg/min/max and FILTER, the aggregates of
src/delta/moreagg.c (DISTINCT, bool_and/bool_or, string_agg, array_agg,
jsonb_agg, ordered-set, variance), HAVING, aggregates
without GROUP BY, DISTINCT, aggregates and DISTINCT in subqueries and CTEs,
scalar subqueries, and stream tables reading stream tables.  They
avoid what would make the two sides differ without an engine bug: float
arithmetic (sums are not associative), stable functions (date::text,
to_char, text || non-text), division by a column.

Schema (test/random/workload.py):
  regions(id PK, name, zone)
  customers(id PK, name, region_id, tier, active bool, created date)
  products(id PK, name, category, price numeric)
  orders(id PK, customer_id, order_date date, status, amount numeric, note)
  items(order_id -> orders ON UPDATE/DELETE CASCADE, line, product_id, qty,
        discount numeric, PK (order_id, line))
  events(kind, val, amount, flag bool, day date)   -- no key, duplicate rows;
        partitioned by kind (click | default: view | rest)
  readings(id PK, sensor, val float8, amount numeric, tags text[])
        -- NaN, +-Infinity, floats that print alike with extra_float_digits = 0
  views: paid_orders (orders of status paid/shipped),
         paid_order_regions (paid_orders joined with customers)
"""

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Query:
    id: str
    comment: str
    sql: str
    deps: tuple = field(default=())

    @property
    def st(self):
        return "st_" + self.id


_ENTRIES = [
    # --- projection, WHERE, expressions, NULLs -----------------------------
    ("p01_projection",
     "projection of a keyed table; NULLs pass through",
     "SELECT id, name, region_id, tier FROM customers"),
    ("p02_where_arith",
     "WHERE with arithmetic and comparisons, computed output columns",
     "SELECT id, customer_id, amount * 2 AS double_amount, amount - 10 AS less_ten "
     "FROM orders WHERE amount > 50 AND status <> 'cancelled'"),
    ("p03_functions",
     "immutable functions: upper, length, coalesce, abs, nullif, round",
     "SELECT id, upper(name) AS uname, length(name) AS name_len, "
     "coalesce(tier, 'none') AS tier, abs(coalesce(region_id, 0) - 3) AS dist, "
     "nullif(tier, 'bronze') AS not_bronze, round(id / 7.0, 2) AS seventh "
     "FROM customers"),
    ("p04_case",
     "CASE in the select list and in WHERE",
     "SELECT id, CASE WHEN amount IS NULL THEN 'unknown' WHEN amount < 50 THEN 'small' "
     "WHEN amount < 200 THEN 'medium' ELSE 'large' END AS size, "
     "CASE status WHEN 'paid' THEN 1 WHEN 'shipped' THEN 2 ELSE 0 END AS stage "
     "FROM orders WHERE CASE WHEN note IS NULL THEN true ELSE length(note) < 9 END"),
    ("p05_null_logic",
     "IS NULL, IS DISTINCT FROM and three-valued logic in WHERE",
     "SELECT id, status, amount, note FROM orders "
     "WHERE (note IS NULL OR amount IS NULL OR status IS DISTINCT FROM 'paid') "
     "AND NOT (amount IS NOT NULL AND amount > 250)"),
    ("p06_bool_date",
     "boolean and date columns: IS TRUE, IS NOT FALSE, date + int, extract",
     "SELECT id, name, created + 30 AS due, extract(year FROM created) AS yr, "
     "active IS NOT FALSE AS maybe_active FROM customers "
     "WHERE active IS TRUE OR created >= DATE '2021-06-01'"),
    ("p07_keyless_projection",
     "keyless table with duplicate rows: every copy must be kept",
     "SELECT kind, val, flag FROM events WHERE val IS NOT NULL"),
    ("p08_keyless_all",
     "every column of the keyless table, incl. rows that are all NULL",
     "SELECT kind, val, amount, flag, day FROM events"),
    ("p09_odd_names",
     "output columns named like the oracle's alias (t), quoted and keyword names",
     "SELECT id AS t, name AS st, price AS \"Price\", category AS \"select\" FROM products"),

    # --- joins ---------------------------------------------------------------
    ("j01_join2",
     "inner join of 2 tables on an equality",
     "SELECT o.id AS order_id, o.amount, c.name AS customer, c.tier "
     "FROM orders o JOIN customers c ON c.id = o.customer_id"),
    ("j02_join3",
     "inner join of 3 tables (items, orders, products)",
     "SELECT i.order_id, i.line, i.qty, p.name AS product, p.price, o.status "
     "FROM items i JOIN orders o ON o.id = i.order_id JOIN products p ON p.id = i.product_id"),
    ("j03_join4",
     "inner join of 4 tables (items, orders, customers, regions), WHERE across tables",
     "SELECT i.order_id, i.line, i.qty, c.id AS customer_id, r.name AS region, r.zone "
     "FROM items i JOIN orders o ON o.id = i.order_id "
     "JOIN customers c ON c.id = o.customer_id JOIN regions r ON r.id = c.region_id "
     "WHERE i.qty IS NOT NULL OR r.zone IS NULL"),
    ("j04_self_join",
     "self-join: customers of the same region, with a non-equi a.id < b.id",
     "SELECT a.id AS a_id, b.id AS b_id, a.region_id FROM customers a "
     "JOIN customers b ON a.region_id = b.region_id AND a.id < b.id"),
    ("j05_cross_join",
     "cross join with a filter on one side",
     "SELECT r.id AS region_id, p.id AS product_id, p.price "
     "FROM regions r CROSS JOIN products p WHERE p.category = 'tools'"),
    ("j06_non_equi",
     "join on a range condition only (no equality)",
     "SELECT o.id AS order_id, p.id AS product_id FROM orders o "
     "JOIN products p ON o.amount BETWEEN p.price * 2 AND p.price * 2 + 5"),
    ("j07_keyless_join",
     "keyless table with duplicates joined to a keyed table",
     "SELECT e.kind, e.val, r.name AS region FROM events e JOIN regions r ON r.id = e.val"),
    ("j08_self_join_items",
     "self-join of a composite-key table: pairs of lines of one order",
     "SELECT a.order_id, a.line AS line_a, b.line AS line_b, "
     "a.product_id = b.product_id AS same_product "
     "FROM items a JOIN items b ON a.order_id = b.order_id AND a.line < b.line"),
    ("j09_implicit_join",
     "comma join, join and constant conditions in WHERE",
     "SELECT o.id AS order_id, c.id AS customer_id, o.status FROM orders o, customers c "
     "WHERE o.customer_id = c.id AND c.tier = 'gold' AND o.status IS NOT NULL"),
    ("j10_join_or_cond",
     "join condition with an expression and an OR",
     "SELECT c.id AS customer_id, r.id AS region_id FROM customers c "
     "JOIN regions r ON r.id = coalesce(c.region_id, 1) OR (c.tier = 'gold' AND r.zone = 'A')"),

    # --- outer joins -----------------------------------------------------------
    ("o01_left_join",
     "LEFT JOIN: customers without orders get a NULL-extended row that comes and goes",
     "SELECT c.id AS customer_id, c.tier, o.id AS order_id, o.amount "
     "FROM customers c LEFT JOIN orders o ON o.customer_id = c.id"),
    ("o02_right_join_keyless",
     "RIGHT JOIN of the keyless table (duplicates, NULL keys) to regions",
     "SELECT r.name AS region, e.kind, e.val FROM regions r RIGHT JOIN events e ON e.val = r.id"),
    ("o03_full_join",
     "FULL JOIN of customers and regions on a nullable key, a condition on one side in ON",
     "SELECT c.id AS customer_id, r.id AS region_id, r.zone FROM customers c "
     "FULL JOIN regions r ON r.id = c.region_id AND c.active IS NOT FALSE"),
    ("o04_chain_mixed",
     "chain: items JOIN orders LEFT JOIN customers LEFT JOIN regions",
     "SELECT i.order_id, i.line, c.name AS customer, r.zone FROM items i "
     "JOIN orders o ON o.id = i.order_id LEFT JOIN customers c ON c.id = o.customer_id "
     "LEFT JOIN regions r ON r.id = c.region_id"),
    ("o05_left_join_agg",
     "aggregate over a LEFT JOIN: count(x) of the NULL-extended side, sum, max, deletes of the last match",
     "SELECT c.id AS customer_id, count(o.id) AS n_orders, sum(o.amount) AS total, "
     "max(o.order_date) AS last_order FROM customers c LEFT JOIN orders o ON o.customer_id = c.id "
     "GROUP BY c.id"),
    ("o06_full_join_agg",
     "aggregate over a FULL JOIN grouped by a key from the NULL-extended side",
     "SELECT r.zone, count(*) AS n, count(c.id) AS customers, min(c.created) AS first_created "
     "FROM regions r FULL JOIN customers c ON c.region_id = r.id GROUP BY r.zone"),
    ("o07_anti_join",
     "LEFT JOIN ... WHERE the other side IS NULL: products never ordered",
     "SELECT p.id AS product_id, p.category FROM products p "
     "LEFT JOIN items i ON i.product_id = p.id WHERE i.order_id IS NULL"),
    ("o08_nested_outer",
     "outer join of a join: regions LEFT JOIN (customers JOIN orders), USING-free, non-equi part",
     "SELECT r.id AS region_id, c.id AS customer_id, o.amount FROM regions r "
     "LEFT JOIN (customers c JOIN orders o ON o.customer_id = c.id AND o.amount > 100) "
     "ON c.region_id = r.id"),
    ("o09_full_join_using",
     "FULL JOIN USING: the merged column is a COALESCE of both sides",
     "SELECT id, c.tier, p.category FROM customers c FULL JOIN products p USING (id)"),

    # --- semi- and anti-joins (EXISTS, IN, NOT IN in WHERE) -------------------
    ("s01_exists",
     "correlated EXISTS: customers with an order over 100; first match comes, last goes",
     "SELECT c.id, c.name, c.tier FROM customers c "
     "WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.amount > 100)"),
    ("s02_not_exists",
     "NOT EXISTS over the keyless table: regions no event points at",
     "SELECT r.id, r.zone FROM regions r WHERE NOT EXISTS (SELECT FROM events e WHERE e.val = r.id)"),
    ("s03_in_keyless",
     "IN with duplicates on both sides: events whose val is a product id of category tools",
     "SELECT e.kind, e.val, e.flag FROM events e "
     "WHERE e.val IN (SELECT p.id FROM products p WHERE p.category = 'tools')"),
    ("s04_not_in_nulls",
     "NOT IN over a nullable column (a NULL empties the result), NULL probe values",
     "SELECT o.id, o.status FROM orders o "
     "WHERE o.customer_id NOT IN (SELECT c.id FROM customers c WHERE c.tier = 'gold') "
     "AND o.customer_id % 5 NOT IN (SELECT c.region_id FROM customers c WHERE c.tier = 'silver')"),
    ("s05_semi_join_agg",
     "aggregate over a semi-join and an anti-join with a join in the rest of the query",
     "SELECT c.region_id, count(*) AS n, sum(o.amount) AS total FROM orders o "
     "JOIN customers c ON c.id = o.customer_id "
     "WHERE EXISTS (SELECT 1 FROM items i WHERE i.order_id = o.id AND i.qty > 1) "
     "AND NOT EXISTS (SELECT 1 FROM regions r WHERE r.id = c.region_id AND r.zone = 'B') "
     "GROUP BY c.region_id"),

    # --- aggregates ----------------------------------------------------------
    ("a01_count_null_key",
     "count(*) and count(x) grouped by a nullable key (a NULL group)",
     "SELECT status, count(*) AS n, count(amount) AS n_amount, count(note) AS n_note "
     "FROM orders GROUP BY status"),
    ("a02_sum_avg_min_max",
     "sum/avg/min/max of a numeric grouped by a nullable key",
     "SELECT customer_id, sum(amount) AS total, avg(amount) AS mean, "
     "min(amount) AS lo, max(amount) AS hi FROM orders GROUP BY customer_id"),
    ("a03_minmax_text",
     "min/max over text and numeric, groups with only NULL prices",
     "SELECT category, min(name) AS first_name, max(name) AS last_name, "
     "min(price) AS cheapest, max(price) AS dearest, count(*) AS n "
     "FROM products GROUP BY category"),
    ("a04_filter",
     "aggregates with FILTER (WHERE ...)",
     "SELECT customer_id, count(*) FILTER (WHERE status = 'paid') AS paid, "
     "sum(amount) FILTER (WHERE amount > 100) AS big_total, "
     "max(order_date) FILTER (WHERE status IS NULL) AS last_unknown, "
     "avg(amount) FILTER (WHERE note IS NOT NULL) AS noted_avg "
     "FROM orders GROUP BY customer_id"),
    ("a05_having_count",
     "HAVING on count(*): groups enter and leave the result",
     "SELECT customer_id, count(*) AS n, sum(amount) AS total "
     "FROM orders GROUP BY customer_id HAVING count(*) >= 4"),
    ("a06_having_or_null",
     "HAVING with sum, min, OR and a NULL test on the key",
     "SELECT status, sum(amount) AS total, min(order_date) AS first_day FROM orders "
     "GROUP BY status HAVING sum(amount) > 4000 OR min(amount) IS NULL OR status IS NULL"),
    ("a07_no_group",
     "aggregates without GROUP BY over a table",
     "SELECT count(*) AS n, count(amount) AS n_amount, sum(amount) AS total, "
     "avg(amount) AS mean, min(order_date) AS first_day, max(order_date) AS last_day "
     "FROM orders"),
    ("a08_no_group_empty",
     "aggregates without GROUP BY over an always empty input: one row (0, NULLs)",
     "SELECT count(*) AS n, sum(qty) AS total, max(qty) AS top, avg(discount) AS mean "
     "FROM items WHERE qty > 1000"),
    ("a09_no_group_keyless",
     "aggregates without GROUP BY over the keyless table (sometimes TRUNCATEd, empty)",
     "SELECT count(*) AS n, count(val) AS n_val, sum(val) AS total, "
     "min(kind) AS first_kind, max(day) AS last_day FROM events"),
    ("a10_two_keys",
     "GROUP BY two nullable keys",
     "SELECT customer_id, status, count(*) AS n, sum(amount) AS total "
     "FROM orders GROUP BY customer_id, status"),
    ("a11_expr_keys",
     "GROUP BY expressions (CASE, extract), by position",
     "SELECT CASE WHEN amount IS NULL THEN 'none' WHEN amount < 100 THEN 'low' ELSE 'high' END AS band, "
     "extract(year FROM order_date) AS yr, count(*) AS n, max(amount) AS hi "
     "FROM orders GROUP BY 1, 2"),
    ("a12_join_agg",
     "aggregate over a 2-table join, grouped by a column of the joined table",
     "SELECT c.region_id, count(*) AS n, sum(o.amount) AS revenue, avg(o.amount) AS mean "
     "FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY c.region_id"),
    ("a13_join3_agg",
     "aggregate over a 3-table join with an expression argument",
     "SELECT p.category, o.status, sum(i.qty * p.price) AS value, count(i.qty) AS n_qty, "
     "min(p.price) AS cheapest FROM items i JOIN orders o ON o.id = i.order_id "
     "JOIN products p ON p.id = i.product_id GROUP BY p.category, o.status"),
    ("a14_join4_agg_filter",
     "aggregate with FILTER over a 4-table join, grouped by region name",
     "SELECT r.name AS region, count(*) AS lines, "
     "sum(i.qty) FILTER (WHERE o.status = 'shipped') AS shipped_qty, max(o.amount) AS biggest "
     "FROM items i JOIN orders o ON o.id = i.order_id "
     "JOIN customers c ON c.id = o.customer_id JOIN regions r ON r.id = c.region_id "
     "GROUP BY r.name"),
    ("a15_keyless_agg",
     "keyless table grouped by a nullable key: duplicates are counted",
     "SELECT kind, count(*) AS n, count(val) AS n_val, sum(amount) AS total, "
     "min(day) AS first_day, max(val) AS top FROM events GROUP BY kind"),
    ("a16_self_join_agg",
     "aggregate over a self-join",
     "SELECT a.region_id, count(*) AS pairs, min(b.created) AS first_created "
     "FROM customers a JOIN customers b ON a.region_id = b.region_id AND a.id <> b.id "
     "GROUP BY a.region_id"),
    ("a17_bool_keys",
     "boolean and computed boolean group keys",
     "SELECT active, tier IS NULL AS no_tier, count(*) AS n, min(created) AS first_created "
     "FROM customers GROUP BY active, tier IS NULL"),
    ("a18_sum_case",
     "sum over CASE and coalesce arguments (sum of only NULLs is NULL)",
     "SELECT product_id, sum(CASE WHEN discount IS NULL THEN qty END) AS undiscounted_qty, "
     "sum(coalesce(qty, 0)) AS qty0, count(*) AS n FROM items GROUP BY product_id"),

    # --- DISTINCT ------------------------------------------------------------
    ("d01_distinct",
     "SELECT DISTINCT on a nullable column",
     "SELECT DISTINCT status FROM orders"),
    ("d02_distinct_keyless",
     "DISTINCT over the keyless table with duplicates and NULLs",
     "SELECT DISTINCT kind, flag FROM events"),
    ("d03_distinct_join4",
     "DISTINCT over a 4-table join",
     "SELECT DISTINCT c.region_id, p.category FROM items i "
     "JOIN orders o ON o.id = i.order_id JOIN customers c ON c.id = o.customer_id "
     "JOIN products p ON p.id = i.product_id"),

    # --- UNION, INTERSECT, EXCEPT (distinct at the root) -----------------------
    ("s01_union",
     "UNION of the keyless table and a filter: duplicates and NULLs collapse",
     "SELECT kind, flag FROM events UNION SELECT status, amount > 100 FROM orders"),
    ("s02_intersect",
     "INTERSECT of two filters of one table",
     "SELECT customer_id, status FROM orders WHERE amount > 50 "
     "INTERSECT SELECT customer_id, status FROM orders WHERE status <> 'paid'"),
    ("s03_except",
     "EXCEPT: customers' regions without a paid order of theirs",
     "SELECT c.region_id FROM customers c "
     "EXCEPT SELECT c.region_id FROM customers c JOIN orders o ON o.customer_id = c.id WHERE o.status = 'paid'"),
    ("s04_nested_all",
     "INTERSECT ALL and EXCEPT ALL under a distinct UNION, over the keyless table",
     "(SELECT kind FROM events EXCEPT ALL SELECT status FROM orders) "
     "UNION (SELECT status FROM orders INTERSECT ALL SELECT kind FROM events "
     "UNION ALL SELECT name FROM regions)"),

    ("s05_intersect_all",
     "INTERSECT ALL with the keyless table: min(m, n) copies",
     "SELECT kind, val FROM events INTERSECT ALL SELECT status, customer_id FROM orders WHERE customer_id < 20 "
     "UNION ALL SELECT kind, val FROM events WHERE flag"),
    ("s06_except_all",
     "EXCEPT ALL: max(m - n, 0) copies, NULLs equal",
     "SELECT customer_id, status FROM orders EXCEPT ALL SELECT val, kind FROM events"),
    ("s07_agg_over_except",
     "aggregate over an EXCEPT in a subquery",
     "SELECT region_id, count(*) AS n FROM "
     "(SELECT region_id, tier FROM customers EXCEPT SELECT id, zone FROM regions) s GROUP BY region_id"),

    # --- UNION ALL -----------------------------------------------------------
    ("u01_union_all",
     "UNION ALL of two tables",
     "SELECT id, 'customer' AS src, name FROM customers "
     "UNION ALL SELECT id, 'product', name FROM products"),
    ("u02_union_all_same",
     "UNION ALL of overlapping filters on one table: rows appear twice",
     "SELECT id, amount FROM orders WHERE amount > 100 "
     "UNION ALL SELECT id, amount FROM orders WHERE status = 'paid'"),
    ("u03_union_all_3",
     "UNION ALL of three branches: keyless table, a filter, a join",
     "SELECT kind AS label, val AS n FROM events "
     "UNION ALL SELECT status, customer_id FROM orders WHERE customer_id < 10 "
     "UNION ALL SELECT r.name, c.id FROM customers c JOIN regions r ON r.id = c.region_id"),
    ("u04_agg_over_union_all",
     "aggregate over a UNION ALL in a subquery",
     "SELECT src, count(*) AS n, sum(amount) AS total, min(amount) AS lo FROM "
     "(SELECT 'order' AS src, amount FROM orders UNION ALL SELECT 'event', amount FROM events) s "
     "GROUP BY src"),
    ("u05_distinct_union_all",
     "DISTINCT over a UNION ALL",
     "SELECT DISTINCT x FROM (SELECT region_id AS x FROM customers "
     "UNION ALL SELECT val FROM events) s"),

    # --- subqueries in FROM, CTEs --------------------------------------------
    ("s01_subquery_from",
     "subquery in FROM joined to a table",
     "SELECT x.order_id, x.amount, c.name FROM "
     "(SELECT id AS order_id, customer_id, amount FROM orders WHERE amount IS NOT NULL) x "
     "JOIN customers c ON c.id = x.customer_id"),
    ("s02_nested_subqueries",
     "nested subqueries, a projection and a filter at each level",
     "SELECT y.cid, y.doubled FROM (SELECT x.cid, x.amt * 2 AS doubled FROM "
     "(SELECT customer_id AS cid, amount AS amt FROM orders WHERE status IS NOT NULL) x "
     "WHERE x.amt > 20) y WHERE y.cid IS NOT NULL"),
    ("s03_cte_join",
     "non-recursive CTE joined to a table",
     "WITH big AS (SELECT id, customer_id, amount FROM orders WHERE amount > 150) "
     "SELECT b.id AS order_id, b.amount, c.tier FROM big b JOIN customers c ON c.id = b.customer_id"),
    ("s04_cte_agg",
     "aggregate over a CTE that joins two tables",
     "WITH lines AS (SELECT i.order_id, i.qty * p.price AS v FROM items i "
     "JOIN products p ON p.id = i.product_id) "
     "SELECT order_id, sum(v) AS order_value, count(*) AS n_lines, min(v) AS smallest "
     "FROM lines GROUP BY order_id"),
    ("s05_cte_twice",
     "a CTE referenced twice (self-join through the CTE)",
     "WITH o AS (SELECT id, customer_id, amount FROM orders WHERE status IS NOT NULL) "
     "SELECT a.id AS a_id, b.id AS b_id FROM o a JOIN o b "
     "ON a.customer_id = b.customer_id AND a.id < b.id"),
    ("s06_cte_chain_distinct",
     "two CTEs, the second reading the first, DISTINCT on top",
     "WITH act AS (SELECT id, region_id FROM customers WHERE active IS NOT FALSE), "
     "ord AS (SELECT o.id, act.region_id FROM orders o JOIN act ON act.id = o.customer_id) "
     "SELECT DISTINCT region_id FROM ord"),

    # --- stream tables reading stream tables -----------------------------------
    ("c01_chain_base",
     "chain level 1: orders with their customer's region (SPJ)",
     "SELECT o.id AS order_id, o.customer_id, o.amount, o.status, c.region_id "
     "FROM orders o JOIN customers c ON c.id = o.customer_id"),
    ("c02_chain_agg",
     "chain level 2: aggregate over st_c01_chain_base, NULL group key",
     "SELECT region_id, count(*) AS n, sum(amount) AS revenue, max(amount) AS biggest "
     "FROM st_c01_chain_base GROUP BY region_id"),
    ("c03_chain_agg_of_agg",
     "chain level 3: aggregate over the aggregate st_c02_chain_agg",
     "SELECT region_id IS NULL AS no_region, count(*) AS regions, sum(n) AS orders, "
     "sum(revenue) AS revenue, min(biggest) AS min_biggest "
     "FROM st_c02_chain_agg GROUP BY region_id IS NULL"),
    ("c04_chain_join_base",
     "aggregate stream table joined with a base table",
     "SELECT s.customer_id, s.total, c.name, c.tier FROM st_a02_sum_avg_min_max s "
     "JOIN customers c ON c.id = s.customer_id WHERE s.total IS NOT NULL"),
    ("c05_chain_distinct",
     "chain level 2: DISTINCT over an SPJ stream table",
     "SELECT DISTINCT status, region_id FROM st_c01_chain_base"),
    ("c06_chain_join_level3",
     "chain level 3: st_c05_chain_distinct joined with regions",
     "SELECT d.status, r.name AS region FROM st_c05_chain_distinct d "
     "JOIN regions r ON r.id = d.region_id"),
    ("c07_chain_keyless",
     "chain over the keyless projection: duplicates flow through two levels",
     "SELECT kind, val FROM st_p07_keyless_projection WHERE val > 2"),
    ("c08_chain_union_all",
     "UNION ALL of two stream tables",
     "SELECT order_id AS id, amount FROM st_c01_chain_base "
     "UNION ALL SELECT order_id, amount FROM st_s01_subquery_from"),
    # --- floats, NaN/Infinity, arrays (readings) ---------------------------
    ("f01_float_rows",
     "float8 and array columns projected: twins that print alike, NaN, +-Infinity",
     "SELECT id, sensor, val, tags FROM readings"),
    ("f02_float_minmax",
     "min/max/count over float8 with NaN and +-Infinity, by sensor",
     "SELECT sensor, count(*) AS n, count(val) AS n_val, min(val) AS lo, max(val) AS hi "
     "FROM readings GROUP BY sensor"),
    ("f03_numeric_nonfinite_sum",
     "sum/avg over numeric with NaN and +-Infinity arriving and leaving",
     "SELECT sensor, sum(amount) AS total, avg(amount) AS mean, count(amount) AS n "
     "FROM readings GROUP BY sensor"),
    ("f04_nonfinite_total",
     "sum over numeric with NaN/Infinity, no GROUP BY",
     "SELECT sum(amount) AS total, max(amount) AS hi, count(*) AS n FROM readings"),
    ("f05_having_nullable",
     "HAVING over aggregates that become NULL (all values NULL) or NaN",
     "SELECT sensor, max(val) AS hi, sum(amount) AS total FROM readings "
     "GROUP BY sensor HAVING max(val) > 0.25 OR sum(amount) > 1"),
    ("f06_array_group",
     "GROUP BY an array column, arrays with NULL elements",
     "SELECT tags, count(*) AS n, min(val) AS lo FROM readings GROUP BY tags"),
    ("f07_float_join",
     "join on a float8 key (NaN = NaN in PostgreSQL) and an array filter",
     "SELECT a.id AS a_id, b.id AS b_id, a.val FROM readings a JOIN readings b "
     "ON a.val = b.val AND a.id < b.id WHERE a.tags @> ARRAY['a']"),
    ("f08_float_distinct",
     "DISTINCT over float8 twins and NaN",
     "SELECT DISTINCT val, sensor FROM readings"),
    # --- more aggregates (src/delta/moreagg.c) -------------------------------
    # bool_and/bool_or merged from counts; the others recomputed for the
    # touched groups.  Orders inside aggregates are total (ending with a
    # key) so that both sides agree; no float sums (see above).
    ("m01_distinct_aggs",
     "count/sum/avg(DISTINCT) with duplicates arriving and leaving, NULL group",
     "SELECT customer_id, count(DISTINCT status) AS n_status, sum(DISTINCT amount) AS dtotal, "
     "avg(DISTINCT amount) AS dmean, count(*) AS n FROM orders GROUP BY customer_id"),
    ("m02_bool_aggs",
     "bool_and/bool_or/every over the keyless table, with FILTER",
     "SELECT kind, bool_and(flag) AS all_flag, bool_or(flag) AS any_flag, every(val > 2) AS all_big, "
     "bool_or(flag) FILTER (WHERE amount > 5) AS any_rich FROM events GROUP BY kind"),
    ("m03_string_array_aggs",
     "string_agg and array_agg with ORDER BY, DISTINCT, FILTER",
     "SELECT customer_id, string_agg(status, ',' ORDER BY status, id) AS statuses, "
     "array_agg(id ORDER BY id DESC) AS ids, array_agg(DISTINCT status) FILTER (WHERE amount > 100) AS big "
     "FROM orders GROUP BY customer_id"),
    ("m04_ordered_set",
     "percentile_disc/percentile_cont/mode per category, groups with only NULL prices",
     "SELECT category, percentile_disc(0.5) WITHIN GROUP (ORDER BY price) AS median_price, "
     "percentile_cont(0.25) WITHIN GROUP (ORDER BY length(name)) AS q1_len, "
     "mode() WITHIN GROUP (ORDER BY name) AS common_name FROM products GROUP BY category"),
    ("m05_variance",
     "var_samp/stddev_pop over int and numeric on the keyless table",
     "SELECT kind, var_samp(val) AS v, stddev_pop(amount) AS sd, variance(amount) AS va "
     "FROM events GROUP BY kind"),
    ("m06_jsonb_aggs",
     "jsonb_agg/json_object_agg over numeric, text and int",
     "SELECT customer_id, jsonb_agg(amount ORDER BY id) FILTER (WHERE status = 'paid') AS paid, "
     "jsonb_object_agg(id, status) AS by_id FROM orders GROUP BY customer_id"),
    ("m07_more_no_group",
     "DISTINCT and bool aggregates without GROUP BY on the keyless table (TRUNCATEd, empty)",
     "SELECT count(DISTINCT kind) AS kinds, bool_or(flag) AS any_flag, "
     "array_agg(DISTINCT val ORDER BY val) AS vals FROM events"),
    ("m08_join_distinct",
     "count(DISTINCT) and string_agg(DISTINCT) over a join, HAVING",
     "SELECT r.name, count(DISTINCT c.tier) AS tiers, string_agg(DISTINCT c.name, ',' ORDER BY c.name) AS names "
     "FROM customers c JOIN regions r ON r.id = c.region_id GROUP BY r.name "
     "HAVING count(DISTINCT c.tier) > 1 OR bool_and(c.active)"),

    # --- aggregates / DISTINCT below the top level (grouped.c) ----------------
    ("n01_q13_count_of_counts",
     "TPC-H Q13: customers per number of orders, an outer join under the inner aggregate",
     "SELECT c_count, count(*) AS custdist FROM (SELECT c.id, count(o.id) AS c_count "
     "FROM customers c LEFT JOIN orders o ON o.customer_id = c.id AND o.status <> 'cancelled' "
     "GROUP BY c.id) s GROUP BY c_count"),
    ("n02_grouped_join",
     "a grouped subquery with HAVING joined to a table, NULL group key",
     "SELECT c.name, t.total, t.n FROM (SELECT customer_id, sum(amount) AS total, count(*) AS n "
     "FROM orders GROUP BY customer_id HAVING count(*) > 1) t JOIN customers c ON c.id = t.customer_id"),
    ("n03_cte_twice_max",
     "TPC-H Q15: a grouped CTE joined to the max over itself",
     "WITH rev AS (SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id) "
     "SELECT r.customer_id, r.total FROM rev r JOIN (SELECT max(total) AS top FROM rev) m ON r.total = m.top"),
    ("n04_keyless_agg_of_agg",
     "aggregate of an aggregate over the keyless table, DISTINCT in a subquery",
     "SELECT n, count(*) AS kinds, max(s) AS biggest FROM (SELECT kind, count(*) AS n, sum(val) AS s "
     "FROM events GROUP BY kind) g GROUP BY n"),
    ("n05_distinct_subquery_left_join",
     "an outer join over a DISTINCT subquery",
     "SELECT r.name, d.tier FROM regions r LEFT JOIN (SELECT DISTINCT region_id, tier FROM customers) d "
     "ON d.region_id = r.id"),

    # --- scalar subqueries (scalar.c) -------------------------------------------
    ("q01_correlated_where",
     "orders above their customer's average (correlated scalar subquery in WHERE)",
     "SELECT o.id, o.amount FROM orders o WHERE o.amount > "
     "(SELECT avg(x.amount) FROM orders x WHERE x.customer_id = o.customer_id)"),
    ("q02_select_list_count",
     "count and max of each customer's orders in the select list (0 and NULL over no rows)",
     "SELECT c.id, (SELECT count(*) FROM orders o WHERE o.customer_id = c.id) AS n, "
     "(SELECT max(o.amount) FROM orders o WHERE o.customer_id = c.id) AS biggest FROM customers c"),
    ("q03_uncorrelated",
     "products above the average price (uncorrelated scalar subquery)",
     "SELECT id, price FROM products WHERE price > (SELECT avg(price) FROM products WHERE price > 0)"),
    ("q04_q17_shape",
     "TPC-H Q17: revenue of small items, the subquery over the keyless table",
     "SELECT sum(i.qty) AS q, count(*) AS n FROM items i JOIN products p ON p.id = i.product_id "
     "WHERE i.qty < (SELECT 2 * avg(x.qty) FROM items x WHERE x.product_id = p.id)"),
    ("q05_having_uncorrelated",
     "TPC-H Q11: groups above a share of the total (scalar subquery in HAVING)",
     "SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id "
     "HAVING sum(amount) > (SELECT sum(amount) * 0.05 FROM orders)"),

    # --- EXISTS/IN anywhere, scalar subqueries without an aggregate (sublink.c)
    ("x01_exists_or",
     "EXISTS under OR: active customers or those with an order over 100",
     "SELECT c.id, c.tier FROM customers c WHERE c.active OR "
     "EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.amount > 100)"),
    ("x02_exists_values",
     "EXISTS as a value and NOT EXISTS in CASE, over the keyless table",
     "SELECT r.id, EXISTS (SELECT 1 FROM events e WHERE e.val = r.id) AS has_event, "
     "CASE WHEN NOT EXISTS (SELECT 1 FROM customers c WHERE c.region_id = r.id) THEN 'empty' "
     "ELSE r.zone END AS z FROM regions r"),
    ("x03_not_in_value",
     "NOT IN as a value (three-valued: NULL probe values)",
     "SELECT o.id, o.customer_id NOT IN (SELECT c.id FROM customers c WHERE c.tier = 'gold') AS not_gold "
     "FROM orders o"),
    ("x04_scalar_lookup",
     "a scalar subquery without an aggregate: each order's customer name by key",
     "SELECT o.id, o.amount, (SELECT c.name FROM customers c WHERE c.id = o.customer_id) AS customer "
     "FROM orders o"),
    ("x05_on_inner_exists",
     "EXISTS in an inner join's ON condition, reading both sides (moved to WHERE)",
     "SELECT o.id, c.tier FROM orders o JOIN customers c ON c.id = o.customer_id "
     "AND EXISTS (SELECT 1 FROM items i WHERE i.order_id = o.id AND i.qty > c.id % 5)"),
    ("x06_on_left_nullable_in",
     "IN in a LEFT JOIN's ON condition reading only its nullable side (a filtered subquery)",
     "SELECT c.id AS cid, o.id AS oid FROM customers c LEFT JOIN orders o ON o.customer_id = c.id "
     "AND o.customer_id % 7 IN (SELECT x.id % 7 FROM customers x WHERE x.tier = 'gold')"),

    # --- views and partitioned tables as sources (issue 15, item 7) --------
    ("v04_partitioned_moves",
     "partitioned keyless table: rows moving between partitions (kind updates), per kind",
     "SELECT kind, count(*) AS n, sum(val) AS total, min(amount) AS lo FROM events GROUP BY kind"),
    ("v05_partitioned_join",
     "partitioned table joined with a view on a view",
     "SELECT e.kind, e.val, p.id FROM events e JOIN paid_order_regions p ON p.region_id = e.val "
     "WHERE e.flag IS NOT FALSE"),
    ("v01_view_on_view",
     "a view on a view (filter, join) with a filter of its own",
     "SELECT id, amount, region_id, tier FROM paid_order_regions WHERE amount > 20"),
    ("v02_view_aggregate",
     "aggregate over a view on a view: changes of orders and customers",
     "SELECT region_id, count(*) AS n, sum(amount) AS total, max(amount) AS hi "
     "FROM paid_order_regions GROUP BY region_id"),
    ("v03_view_outer_join",
     "a view as the NULL-extended side of an outer join, and in EXISTS",
     "SELECT r.id AS region, p.id AS order_id FROM regions r "
     "LEFT JOIN paid_order_regions p ON p.region_id = r.id "
     "WHERE EXISTS (SELECT 1 FROM paid_orders q WHERE q.customer_id = r.id)"),
]


def _build():
    ids = [e[0] for e in _ENTRIES]
    if len(set(ids)) != len(ids):
        raise RuntimeError("duplicate query id in corpus")
    seen = set()
    out = []
    for qid, comment, sql in _ENTRIES:
        deps = tuple(d for d in dict.fromkeys(re.findall(r"\bst_(\w+)", sql)) if d in ids)
        for d in deps:
            if d not in seen:
                raise RuntimeError(f"corpus: {qid} reads st_{d}, which must come earlier")
        out.append(Query(qid, comment, sql, deps))
        seen.add(qid)
    return out


CORPUS = _build()
BY_ID = {q.id: q for q in CORPUS}


def closure(ids):
    """The queries ids need (themselves and, transitively, what they read), in corpus order."""
    want = set()

    def add(qid):
        if qid in want:
            return
        want.add(qid)
        for d in BY_ID[qid].deps:
            add(d)

    for qid in ids:
        add(qid)
    return [q for q in CORPUS if q.id in want]


def upstream(qid):
    """qid and the stream tables it reads, transitively, upstream first."""
    return closure([qid])


if __name__ == "__main__":
    for q in CORPUS:
        print(f"{q.id:28} {q.comment}" + (f"  [reads {', '.join(q.deps)}]" if q.deps else ""))
    print(f"{len(CORPUS)} queries")
