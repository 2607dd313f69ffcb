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

-- The measured queries (the targets of issue 12).  {t} is replaced by the
-- fact table (bench.t for the refresh targets, bench.sc_t for scaling).
CREATE TABLE bench.queries (name text PRIMARY KEY, label text NOT NULL, query text NOT NULL);
INSERT INTO bench.queries VALUES
('group', 'GROUP BY aggregate',
 $q$SELECT grp, count(*) AS n, sum(val) AS total, avg(val) AS mean, min(val) AS lo, max(val) AS hi
      FROM {t}
     GROUP BY grp$q$),
('join_agg', 'join + aggregate',
 $q$SELECT d.cat, count(*) AS n, sum(t.val) AS total, max(t.val) AS hi
      FROM {t} t
      JOIN bench.dims d ON d.id = t.dim
     GROUP BY d.cat$q$),
('join3', '3-table join',
 $q$SELECT t.id, t.grp, t.val, d.name AS dim_name, d.cat, z.name AS zone_name
      FROM {t} t
      JOIN bench.dims d ON d.id = t.dim
      JOIN bench.zones z ON z.id = d.zone$q$),
('outer_join', 'LEFT JOIN: dimension rows with their matching facts, or one NULL-extended row',
 $q$SELECT d.id AS dim_id, d.cat, t.id AS t_id, t.val
      FROM bench.dims d
      LEFT JOIN {t} t ON t.dim = d.id AND t.grp < 1000$q$),
-- two more stream tables for the writers scenario (5 in all)
('dim_agg', 'aggregate per dimension row, filtered',
 $q$SELECT dim, count(*) AS n, sum(val) AS total FROM {t} WHERE grp < 1000 GROUP BY dim$q$),
('zone_agg', '3-table join + aggregate',
 $q$SELECT z.name AS zone_name, count(*) AS n, sum(t.val) AS total
      FROM {t} t
      JOIN bench.dims d ON d.id = t.dim
      JOIN bench.zones z ON z.id = d.zone
     GROUP BY z.name$q$),
('cap', 'capture target (aggregate over bench.cap)',
 $q$SELECT grp, count(*) AS n, sum(v) AS total FROM bench.cap GROUP BY grp$q$);

CREATE FUNCTION bench.query_text(p_query text, p_t text DEFAULT 'bench.t') RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT replace(query, '{t}', p_t) FROM bench.queries WHERE name = p_query
$$;

-- A "set" = the same query three times: bench.mv_<set> (materialized view),
-- bench.st_<set>_full (stream table, FULL) and bench.st_<set>_diff (stream
-- table, DIFFERENTIAL, when the engine accepts it).  Schedules are long and
-- pg_trickle.enabled is off: only the benchmark refreshes.
CREATE FUNCTION bench.create_mv(p_set text, p_query text, p_t text DEFAULT 'bench.t')
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE MATERIALIZED VIEW bench.%I AS %s', 'mv_' || p_set,
                   bench.query_text(p_query, p_t));
END $$;

CREATE FUNCTION bench.create_full(p_set text, p_query text, p_t text DEFAULT 'bench.t')
RETURNS void LANGUAGE sql AS $$
    SELECT pgtrickle.create_stream_table('bench.st_' || p_set || '_full',
                                         bench.query_text(p_query, p_t),
                                         schedule => '1d', refresh_mode => 'FULL')
$$;

-- Returns true when the DIFFERENTIAL stream table exists afterwards.  Only
-- SQLSTATE 0A000 (what create_stream_table raises while the differential
-- engine is missing, or for a construct it cannot differentiate) is caught;
-- anything else is a real failure and stops the run.
CREATE FUNCTION bench.try_create_diff(p_set text, p_query text, p_t text DEFAULT 'bench.t')
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    m text;
    d text;
BEGIN
    PERFORM pgtrickle.create_stream_table('bench.st_' || p_set || '_diff',
                                          bench.query_text(p_query, p_t),
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

-- How a changed row of each kind of table is changed.  In set_clause, $2
-- is the array of updated ids that "move": for t, 30 % of the updated rows
-- get a new group and a new dimension row (they move between the groups of
-- the aggregates); the others only change val and note.  For dims, every
-- updated row changes its name, and the moving ones also their category and
-- zone.  Column order of the inserted rows follows the tables; $1 is
-- max(id) before the change.
CREATE TABLE bench.change_spec (kind text PRIMARY KEY, set_clause text NOT NULL, insert_values text NOT NULL);
INSERT INTO bench.change_spec VALUES
('t',
 $s$val = val + 1, note = 'changed ' || id,
    grp = CASE WHEN id = ANY ($2) THEN floor(random() * 10000)::int ELSE grp END,
    dim = CASE WHEN id = ANY ($2) THEN 1 + floor(random() * bench.size('dims'))::int ELSE dim END$s$,
 $s$$1 + g, 1 + floor(random() * bench.size('dims'))::int, floor(random() * 10000)::int,
    round((random() * 1000)::numeric, 2), 'new ' || ($1 + g)$s$),
('dims',
 $s$name = 'dim ' || id || ' v' || floor(random() * 1000)::int,
    cat = CASE WHEN id = ANY ($2) THEN (cat + 1) % 20 ELSE cat END,
    zone = CASE WHEN id = ANY ($2) THEN 1 + floor(random() * bench.size('zones'))::int ELSE zone END$s$,
 $s$$1 + g, g % 20, 'dim ' || ($1 + g), 1 + floor(random() * bench.size('zones'))::int$s$);

-- Change p_k rows of p_tbl in the current transaction: half (rounded up)
-- updates, 30 % of them moving (see change_spec), a quarter inserts, a
-- quarter deletes; updated and deleted rows are distinct existing rows
-- picked at random.  Three statements, so statement-level capture fires
-- three times.  Returns what was done.
CREATE FUNCTION bench.apply_changes(p_tbl regclass, p_kind text, p_k int) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    spec bench.change_spec;
    n_ins int := p_k / 4;
    n_del int := p_k / 4;
    n_upd int := p_k - 2 * (p_k / 4);
    n_move int;
    maxid bigint;
    ids bigint[];
    c_upd bigint := 0;
    c_ins bigint := 0;
    c_del bigint := 0;
BEGIN
    n_move := ceil(n_upd * 0.3);
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
           USING ids[1:n_upd], ids[1:n_move];
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
    RETURN format('%s %s (%s updated of which %s moved, %s inserted, %s deleted)',
                  p_tbl, c_upd + c_ins + c_del, c_upd, least(n_move, c_upd), c_ins, c_del);
END $$;

-- One change round of the refresh targets: p_pct percent of the nominal
-- rows of t and a twentieth as many rows of dims (1,000 + 50 at 0.1 % of
-- 1M rows), in one transaction.
CREATE FUNCTION bench.change_round(p_pct numeric) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    k int := greatest(1, round(bench.size('t') * p_pct / 100))::int;
    done text[] := '{}';
BEGIN
    done := done || bench.apply_changes('bench.t', 't', k);
    done := done || bench.apply_changes('bench.dims', 'dims', greatest(1, k / 20));
    PERFORM bench.note('changes/' || p_pct, array_to_string(done, '; '));
    RETURN array_to_string(done, '; ');
END $$;

-- Does stream table p_st hold exactly what its query returns now (multiset
-- EXCEPT ALL both ways)?  'ok' or the number of rows that differ.
CREATE FUNCTION bench.check_query(p_st text, p_query text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    cols text;
    n bigint;
BEGIN
    -- the query's own columns (a stream table may have hidden ones)
    EXECUTE format('CREATE TEMP TABLE bench_chk_cols AS %s WITH NO DATA', p_query);
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
      FROM pg_attribute WHERE attrelid = 'bench_chk_cols'::regclass AND attnum > 0 AND NOT attisdropped;
    DROP TABLE bench_chk_cols;
    EXECUTE format('SELECT count(*) FROM ((SELECT %1$s FROM bench.%2$I EXCEPT ALL SELECT %1$s FROM (%3$s) q)
                               UNION ALL (SELECT %1$s FROM (%3$s) q EXCEPT ALL SELECT %1$s FROM bench.%2$I)) x',
                   cols, p_st, p_query) INTO n;
    RETURN CASE WHEN n = 0 THEN 'ok' ELSE n || ' rows differ' END;
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

-- The writers scenario's stream tables: bench.st_<p_name> over query
-- p_query with schedule p_schedule, refreshed by the scheduler.
-- DIFFERENTIAL, or AUTO when the engine refuses DIFFERENTIAL for the query
-- (SQLSTATE 0A000).  Returns the mode requested.
CREATE FUNCTION bench.create_scheduled(p_name text, p_query text, p_schedule text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        PERFORM pgtrickle.create_stream_table('bench.st_' || p_name, bench.query_text(p_query),
                                              schedule => p_schedule, refresh_mode => 'DIFFERENTIAL');
        RETURN 'DIFFERENTIAL';
    EXCEPTION WHEN feature_not_supported THEN
        NULL;
    END;
    PERFORM pgtrickle.create_stream_table('bench.st_' || p_name, bench.query_text(p_query),
                                          schedule => p_schedule, refresh_mode => 'AUTO');
    RETURN 'AUTO (DIFFERENTIAL refused)';
END $$;

-- The last refresh history row so far.
CREATE FUNCTION bench.history_mark() RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT coalesce(max(refresh_id), 0) FROM pgtrickle.pgt_refresh_history $$;

-- The scheduler's refreshes between two history marks, per stream table:
-- name, count, "action (reason) ×n, ..." (digits of the reason replaced by
-- N so that similar reasons group), and the median, p90 and max of
-- end_time - start_time in ms.
CREATE FUNCTION bench.sched_summary(p_after bigint, p_upto bigint)
RETURNS TABLE (st text, n bigint, actions text, med_ms numeric, p90_ms numeric, max_ms numeric)
LANGUAGE sql STABLE AS $$
    WITH h AS (
        SELECT s.pgt_name, h.action, h.status,
               regexp_replace(coalesce(h.reason, ''), '[0-9]+(\.[0-9]+)?', 'N', 'g') AS reason,
               extract(epoch FROM h.end_time - h.start_time) * 1000 AS ms
          FROM pgtrickle.pgt_refresh_history h
          JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
         WHERE h.initiated_by = 'SCHEDULER' AND h.refresh_id > p_after AND h.refresh_id <= p_upto),
    a AS (
        SELECT pgt_name,
               string_agg(label || ' ×' || c, ', ' ORDER BY c DESC) AS actions
          FROM (SELECT pgt_name,
                       action || CASE WHEN status <> 'COMPLETED' THEN ' ' || status ELSE '' END
                              || CASE WHEN reason <> '' THEN ' (' || reason || ')' ELSE '' END AS label,
                       count(*) AS c
                  FROM h GROUP BY 1, 2) x
         GROUP BY pgt_name)
    SELECT h.pgt_name, count(*), a.actions,
           round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms))::numeric, 2),
           round((percentile_cont(0.9) WITHIN GROUP (ORDER BY ms))::numeric, 2),
           round(max(ms)::numeric, 2)
      FROM h JOIN a USING (pgt_name)
     GROUP BY h.pgt_name, a.actions
     ORDER BY h.pgt_name
$$;
