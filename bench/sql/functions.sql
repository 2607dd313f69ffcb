-- pg_trickle benchmark: schema, query definitions and helper functions.
-- Loaded once per run by bench/run.sh into the throwaway database "bench".
-- Nothing here is timed; see bench/README.md for the design.

CREATE EXTENSION pg_trickle;
CREATE SCHEMA bench;

-- Run facts written from SQL (availability of the differential engine,
-- change-set sizes, consistency checks, ...); run.sh reads them at the end.
CREATE TABLE bench.meta (key text PRIMARY KEY, value text NOT NULL);

CREATE FUNCTION bench.note(p_key text, p_value text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO bench.meta VALUES (p_key, p_value)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value
$$;

-- Nominal sizes of the loaded tables (changes are a percentage of these).
CREATE TABLE bench.sizes (name text PRIMARY KEY, n bigint NOT NULL);

CREATE FUNCTION bench.size(p_name text) RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT n FROM bench.sizes WHERE name = p_name $$;

-- The measured queries.  {orders} is replaced by the fact table
-- (bench.orders for the refresh targets, bench.sc_orders for scaling).
CREATE TABLE bench.queries (name text PRIMARY KEY, label text NOT NULL, query text NOT NULL);
INSERT INTO bench.queries VALUES
('agg', 'GROUP BY aggregate',
 $q$SELECT customer_id, count(*) AS orders, sum(amount) AS revenue, avg(qty) AS avg_qty
      FROM {orders}
     GROUP BY customer_id$q$),
('join', '3-table join',
 $q$SELECT o.id AS order_id, o.amount, o.qty, c.name AS customer, r.name AS region
      FROM {orders} o
      JOIN bench.customers c ON c.id = o.customer_id
      JOIN bench.regions r ON r.id = c.region_id$q$),
('join_agg', 'join + aggregate',
 $q$SELECT r.name AS region, c.segment, count(*) AS orders, sum(o.amount) AS revenue
      FROM {orders} o
      JOIN bench.customers c ON c.id = o.customer_id
      JOIN bench.regions r ON r.id = c.region_id
     GROUP BY r.name, c.segment$q$),
('cap', 'capture target (aggregate over bench.cap)',
 $q$SELECT grp, count(*) AS n, sum(v) AS total FROM bench.cap GROUP BY grp$q$);

CREATE FUNCTION bench.query_text(p_query text, p_orders text DEFAULT 'bench.orders') RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT replace(query, '{orders}', p_orders) FROM bench.queries WHERE name = p_query
$$;

-- A "set" = the same query three times: bench.mv_<set> (materialized view),
-- bench.st_<set>_full (stream table, FULL) and bench.st_<set>_diff (stream
-- table, DIFFERENTIAL, when the engine accepts it).  Schedules are long and
-- pg_trickle.enabled is off: only the benchmark refreshes.
CREATE FUNCTION bench.create_mv(p_set text, p_query text, p_orders text DEFAULT 'bench.orders')
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE MATERIALIZED VIEW bench.%I AS %s', 'mv_' || p_set,
                   bench.query_text(p_query, p_orders));
END $$;

CREATE FUNCTION bench.create_full(p_set text, p_query text, p_orders text DEFAULT 'bench.orders')
RETURNS void LANGUAGE sql AS $$
    SELECT pgtrickle.create_stream_table('bench.st_' || p_set || '_full',
                                         bench.query_text(p_query, p_orders),
                                         schedule => '1d', refresh_mode => 'FULL')
$$;

-- Returns true when the DIFFERENTIAL stream table exists afterwards.  Only
-- SQLSTATE 0A000 (what create_stream_table raises while the differential
-- engine is missing, or for a construct it cannot differentiate) is caught;
-- anything else is a real failure and stops the run.
CREATE FUNCTION bench.try_create_diff(p_set text, p_query text, p_orders text DEFAULT 'bench.orders')
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    m text;
    d text;
BEGIN
    PERFORM pgtrickle.create_stream_table('bench.st_' || p_set || '_diff',
                                          bench.query_text(p_query, p_orders),
                                          schedule => '1d', refresh_mode => 'DIFFERENTIAL');
    PERFORM bench.note('diff/' || p_set, 'available');
    RETURN true;
EXCEPTION WHEN feature_not_supported THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
    PERFORM bench.note('diff/' || p_set, 'n/a: 0A000 ' || m || coalesce(' — ' || nullif(d, ''), ''));
    RETURN false;
END $$;

-- After a small change to its sources: does a DIFFERENTIAL refresh work at
-- all?  An engine that is still being built may accept the definition but
-- fail to refresh; the benchmark then reports the error instead of timings
-- (an error in a timed round, after this probe passed, stops the run).
CREATE FUNCTION bench.probe_diff(p_set text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    m text;
    s text;
BEGIN
    PERFORM pgtrickle.refresh_stream_table('bench.st_' || p_set || '_diff');
    RETURN true;
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, s = RETURNED_SQLSTATE;
    PERFORM bench.note('diff/' || p_set, 'n/a: refresh failed: ' || s || ' ' || m);
    RETURN false;
END $$;

CREATE FUNCTION bench.drop_diff(p_set text) RETURNS void
LANGUAGE sql AS $$
    SELECT pgtrickle.drop_stream_table('bench.st_' || p_set || '_diff')
$$;

CREATE FUNCTION bench.drop_set(p_set text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    st text;
BEGIN
    FOREACH st IN ARRAY ARRAY['st_' || p_set || '_diff', 'st_' || p_set || '_full'] LOOP
        IF EXISTS (SELECT FROM pgtrickle.pgt_stream_tables
                    WHERE pgt_schema = 'bench' AND pgt_name = st) THEN
            PERFORM pgtrickle.drop_stream_table('bench.' || st);
        END IF;
    END LOOP;
    EXECUTE format('DROP MATERIALIZED VIEW IF EXISTS bench.%I', 'mv_' || p_set);
END $$;

-- After a round in which all three were refreshed: do the stream tables hold
-- exactly what the materialized view holds (as multisets, on the query's
-- columns)?  Writes check/<label>/<set>/<full|diff> = 'ok' or a count, and
-- actions/<label>/<set> = what the last p_rounds DIFFERENTIAL refreshes did.
CREATE FUNCTION bench.check_set(p_set text, p_label text, p_rounds int DEFAULT 3) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    mv regclass := format('bench.%I', 'mv_' || p_set)::regclass;
    cols text;
    kind text;
    st regclass;
    n bigint;
BEGIN
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
      FROM pg_attribute WHERE attrelid = mv AND attnum > 0 AND NOT attisdropped;
    FOREACH kind IN ARRAY ARRAY['full', 'diff'] LOOP
        st := to_regclass(format('bench.%I', 'st_' || p_set || '_' || kind));
        CONTINUE WHEN st IS NULL;
        EXECUTE format('SELECT count(*) FROM ((SELECT %1$s FROM %2$s EXCEPT ALL SELECT %1$s FROM %3$s)
                                   UNION ALL (SELECT %1$s FROM %3$s EXCEPT ALL SELECT %1$s FROM %2$s)) x',
                       cols, mv, st) INTO n;
        PERFORM bench.note(format('check/%s/%s/%s', p_label, p_set, kind),
                           CASE WHEN n = 0 THEN 'ok' ELSE n || ' rows differ' END);
        IF kind = 'diff' THEN
            PERFORM bench.note(format('actions/%s/%s', p_label, p_set),
                               bench.recent_actions('st_' || p_set || '_diff', p_rounds));
        END IF;
    END LOOP;
END $$;

-- How a changed row of each kind of table is changed.  Column order of the
-- inserted rows follows the tables; $1 is max(id) before the change.
CREATE TABLE bench.change_spec (kind text PRIMARY KEY, set_clause text NOT NULL, insert_values text NOT NULL);
INSERT INTO bench.change_spec VALUES
('orders',
 $s$amount = amount + 1, qty = qty % 10 + 1,
    customer_id = CASE WHEN id % 2 = 0 THEN 1 + floor(random() * bench.size('customers'))::int ELSE customer_id END$s$,
 $s$$1 + g, 1 + floor(random() * bench.size('customers'))::int, round((random() * 1000)::numeric, 2), 1 + g % 10$s$),
('customers',
 $s$segment = (segment + 1) % 5, name = 'customer ' || id || ' v' || floor(random() * 1000)::int$s$,
 $s$$1 + g, 1 + floor(random() * bench.size('regions'))::int, 'customer ' || ($1 + g), g % 5$s$),
('regions',
 $s$zone = (zone + 1) % 10, name = 'region ' || id || ' v' || floor(random() * 1000)::int$s$,
 $s$$1 + g, 'region ' || ($1 + g), g % 10$s$);

-- Change p_k rows of p_tbl in the current transaction: half (rounded up)
-- updates, a quarter inserts, a quarter deletes; updated and deleted rows are
-- distinct existing rows picked at random.  Three statements, so statement-
-- level capture fires three times.  Returns what was done.
CREATE FUNCTION bench.apply_changes(p_tbl regclass, p_kind text, p_k int) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    spec bench.change_spec;
    n_ins int := p_k / 4;
    n_del int := p_k / 4;
    n_upd int := p_k - 2 * (p_k / 4);
    maxid bigint;
    ids bigint[];
    c_upd bigint := 0;
    c_ins bigint := 0;
    c_del bigint := 0;
BEGIN
    SELECT * INTO STRICT spec FROM bench.change_spec WHERE kind = p_kind;
    EXECUTE format('SELECT max(id) FROM %s', p_tbl) INTO maxid;
    EXECUTE format($f$SELECT array_agg(id) FROM (
                         SELECT t.id FROM (SELECT DISTINCT (1 + floor(random() * $1))::bigint AS id
                                             FROM generate_series(1, $2 * 2 + 10)) c
                           JOIN %s t ON t.id = c.id
                          LIMIT $2) s$f$, p_tbl)
       INTO ids USING maxid, n_upd + n_del;
    IF n_upd > 0 THEN
        EXECUTE format('UPDATE %s SET %s WHERE id = ANY ($1)', p_tbl, spec.set_clause)
           USING ids[1:n_upd];
        GET DIAGNOSTICS c_upd = ROW_COUNT;
    END IF;
    IF n_del > 0 THEN
        EXECUTE format('DELETE FROM %s WHERE id = ANY ($1)', p_tbl)
           USING ids[n_upd + 1:n_upd + n_del];
        GET DIAGNOSTICS c_del = ROW_COUNT;
    END IF;
    IF n_ins > 0 THEN
        EXECUTE format('INSERT INTO %s SELECT %s FROM generate_series(1, %s) g',
                       p_tbl, spec.insert_values, n_ins)
           USING maxid;
        GET DIAGNOSTICS c_ins = ROW_COUNT;
    END IF;
    RETURN format('%s %s (%s updated, %s inserted, %s deleted)',
                  p_tbl, c_upd + c_ins + c_del, c_upd, c_ins, c_del);
END $$;

-- One change round of the refresh targets: p_pct percent of the nominal
-- rows of each of the three sources (at least one row), one transaction.
CREATE FUNCTION bench.change_round(p_pct numeric) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    t text;
    done text[] := '{}';
BEGIN
    FOREACH t IN ARRAY ARRAY['orders', 'customers', 'regions'] LOOP
        done := done || bench.apply_changes(('bench.' || t)::regclass, t,
                                            greatest(1, round(bench.size(t) * p_pct / 100))::int);
    END LOOP;
    PERFORM bench.note('changes/' || p_pct, array_to_string(done, '; '));
    RETURN array_to_string(done, '; ');
END $$;

-- What the last p_n refreshes of a stream table did (action ×count).
CREATE FUNCTION bench.recent_actions(p_st text, p_n int) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT string_agg(action || ' ×' || n, ', ' ORDER BY n DESC)
      FROM (SELECT action, count(*) AS n
              FROM (SELECT h.action
                      FROM pgtrickle.pgt_refresh_history h
                      JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
                     WHERE s.pgt_schema = 'bench' AND s.pgt_name = p_st
                     ORDER BY h.refresh_id DESC
                     LIMIT p_n) x
             GROUP BY action) y
$$;
