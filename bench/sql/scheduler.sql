-- pg_trickle benchmark: objects of the scheduler scenarios (latency, idle).
-- Loaded by bench/run.sh before the first of them; these scenarios run with
-- pg_trickle.enabled = on, so the database's scheduler refreshes.  See
-- bench/README.md.

-- --- latency: commit-to-visible through the scheduler --------------------------
-- A small source and, in run.sh, a DIFFERENTIAL stream table over it with
-- schedule '1s': bench.st_lat = SELECT id, grp, v FROM bench.lat_src.
CREATE TABLE bench.lat_src (id bigint PRIMARY KEY, grp int NOT NULL, v int NOT NULL);
INSERT INTO bench.lat_src SELECT i, i % 10, i FROM generate_series(1, 1000) i;

-- One row per change: when its transaction had committed (clock time right
-- after COMMIT returned) and when a new statement first saw it in the stream
-- table (NULL: not within the time limit).
CREATE TABLE bench.lat_obs (
    n int PRIMARY KEY,
    id bigint NOT NULL,
    committed_at timestamptz NOT NULL,
    visible_at timestamptz,
    polls int NOT NULL
);

-- p_n changes, one at a time: a random pause of 0..p_pause_ms (so that the
-- commits fall at random points of the scheduler's cycle instead of always
-- just after a refresh), INSERT of a new row, COMMIT, then poll the stream
-- table every p_poll_ms with a new statement (a new snapshot, as a reader
-- would) until the row is there, at most p_timeout_s.  The time is measured
-- in the server (clock_timestamp), so it has no client round trip; it is an
-- upper bound that is late by at most one poll interval.
CREATE PROCEDURE bench.measure_latency(p_n int, p_poll_ms int, p_pause_ms int, p_timeout_s int)
LANGUAGE plpgsql AS $$
DECLARE
    k bigint;
    t_commit timestamptz;
    t_seen timestamptz;
    polls int;
BEGIN
    FOR i IN 1..p_n LOOP
        PERFORM pg_sleep(random() * p_pause_ms / 1000.0);
        SELECT max(id) + 1 INTO k FROM bench.lat_src;
        INSERT INTO bench.lat_src VALUES (k, k % 10, k);
        COMMIT;
        t_commit := clock_timestamp();
        t_seen := NULL;
        polls := 0;
        LOOP
            polls := polls + 1;
            IF EXISTS (SELECT FROM bench.st_lat WHERE id = k) THEN
                t_seen := clock_timestamp();
                EXIT;
            END IF;
            EXIT WHEN clock_timestamp() > t_commit + make_interval(secs => p_timeout_s);
            PERFORM pg_sleep(p_poll_ms / 1000.0);
        END LOOP;
        INSERT INTO bench.lat_obs VALUES (i, k, t_commit, t_seen, polls);
        COMMIT;
    END LOOP;
END $$;

-- For each change, the scheduled refresh that brought it: the first
-- completed scheduler refresh of bench.st_lat whose data_timestamp (taken
-- right after its snapshot) is not before the commit.  Columns: the change,
-- ms from commit to that refresh's announcement (start_time of a scheduler
-- refresh: the RUNNING history row written before the lock and snapshot)
-- and to its end_time (just before its commit).
CREATE FUNCTION bench.lat_refreshes()
RETURNS TABLE (n int, to_start_ms float8, to_end_ms float8, action text)
LANGUAGE sql STABLE AS $$
    SELECT o.n,
           extract(epoch FROM h.start_time - o.committed_at) * 1000,
           extract(epoch FROM h.end_time - o.committed_at) * 1000,
           h.action
      FROM bench.lat_obs o
      CROSS JOIN LATERAL (
            SELECT h.start_time, h.end_time, h.action
              FROM pgtrickle.pgt_refresh_history h
              JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
             WHERE s.pgt_schema = 'bench' AND s.pgt_name = 'st_lat'
               AND h.initiated_by = 'SCHEDULER' AND h.status = 'COMPLETED'
               AND h.data_timestamp >= o.committed_at
             ORDER BY h.data_timestamp
             LIMIT 1) h
$$;

-- Gaps (ms) between the starts of consecutive scheduler refreshes of a
-- stream table, among those after history row p_after: the period the
-- scheduler actually keeps.
CREATE FUNCTION bench.refresh_gaps(p_st text, p_after bigint DEFAULT 0)
RETURNS SETOF float8 LANGUAGE sql STABLE AS $$
    SELECT g FROM (
        SELECT extract(epoch FROM start_time - lag(start_time) OVER (ORDER BY start_time)) * 1000 AS g
          FROM pgtrickle.pgt_refresh_history h
          JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
         WHERE s.pgt_schema = 'bench' AND s.pgt_name = p_st
           AND h.initiated_by = 'SCHEDULER' AND h.refresh_id > p_after) x
     WHERE g IS NOT NULL
$$;

-- The period (ms) at which the scheduler confirms a stream table fresh,
-- while nothing changes: idle rounds write no history row (src/scheduler/
-- idle.c), but each moves data_timestamp.  Polls it every 10 ms for
-- p_secs seconds (a new snapshot per statement) and returns the gaps
-- between the values seen, the first (partial) one left out.
CREATE FUNCTION bench.confirm_gaps(p_st text, p_secs float8)
RETURNS SETOF float8 LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    t_end timestamptz := clock_timestamp() + make_interval(secs => p_secs);
    cur timestamptz;
    last timestamptz;
    seen timestamptz[] := '{}';
BEGIN
    WHILE clock_timestamp() < t_end LOOP
        SELECT data_timestamp INTO cur FROM pgtrickle.pgt_stream_tables
         WHERE pgt_schema = 'bench' AND pgt_name = p_st;
        IF cur IS DISTINCT FROM last THEN
            seen := seen || cur;
            last := cur;
        END IF;
        PERFORM pg_sleep(0.01);
    END LOOP;
    RETURN QUERY SELECT (extract(epoch FROM seen[i] - seen[i - 1]) * 1000)::float8
                   FROM generate_subscripts(seen, 1) i WHERE i > 2;
END $$;

-- Durations (ms) of the completed scheduler refreshes of a stream table
-- after history row p_after: end_time - start_time, from the RUNNING
-- announcement to just before the commit.
CREATE FUNCTION bench.refresh_durations(p_st text, p_after bigint DEFAULT 0)
RETURNS SETOF float8 LANGUAGE sql STABLE AS $$
    SELECT extract(epoch FROM h.end_time - h.start_time) * 1000
      FROM pgtrickle.pgt_refresh_history h
      JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
     WHERE s.pgt_schema = 'bench' AND s.pgt_name = p_st
       AND h.initiated_by = 'SCHEDULER' AND h.status = 'COMPLETED' AND h.refresh_id > p_after
$$;

-- bench.history_mark() (functions.sql) gives the marks for the two above.

-- --- idle: many stream tables whose sources do not change -----------------------
CREATE TABLE bench.idle_src (id int PRIMARY KEY, grp int NOT NULL, v int NOT NULL);
INSERT INTO bench.idle_src SELECT i, i % 100, i FROM generate_series(1, 10000) i;

-- p_n DIFFERENTIAL stream tables bench.st_idle_<k>, each a small aggregate
-- over one group of bench.idle_src.
CREATE FUNCTION bench.create_idle(p_n int, p_schedule text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    FOR k IN 1..p_n LOOP
        PERFORM pgtrickle.create_stream_table(
            'bench.st_idle_' || k,
            format('SELECT grp, count(*) AS n, sum(v) AS total FROM bench.idle_src WHERE grp = %s GROUP BY grp',
                   k % 100),
            schedule => p_schedule, refresh_mode => 'DIFFERENTIAL');
    END LOOP;
END $$;

-- The idle scenario's stream tables, as names for the pgtrickle functions.
CREATE FUNCTION bench.idle_tables() RETURNS SETOF text
LANGUAGE sql AS $$
    SELECT 'bench.' || pgt_name FROM pgtrickle.pgt_stream_tables
     WHERE pgt_schema = 'bench' AND pgt_name LIKE 'st\_idle\_%'
$$;

-- The scheduler refreshes that started in [p_from, p_to): "count<TAB>
-- actions<TAB>median ms<TAB>p90 ms", durations end_time - start_time (from
-- the announcement to just before the refresh's commit).
CREATE FUNCTION bench.sched_window(p_from float8, p_to float8) RETURNS text
LANGUAGE sql STABLE AS $$
    WITH w AS (
        SELECT h.action, h.status,
               extract(epoch FROM h.end_time - h.start_time) * 1000 AS ms
          FROM pgtrickle.pgt_refresh_history h
         WHERE h.initiated_by = 'SCHEDULER'
           AND h.start_time >= to_timestamp(p_from) AND h.start_time < to_timestamp(p_to))
    SELECT count(*) || E'\t'
           || coalesce((SELECT string_agg(a || ' ×' || c, ', ' ORDER BY c DESC)
                          FROM (SELECT action || CASE WHEN status <> 'COMPLETED' THEN ' ' || status ELSE '' END AS a,
                                       count(*) AS c
                                  FROM w GROUP BY 1) x), 'none') || E'\t'
           || coalesce(round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms))::numeric, 3)::text, '') || E'\t'
           || coalesce(round((percentile_cont(0.9) WITHIN GROUP (ORDER BY ms))::numeric, 3)::text, '')
      FROM w
$$;
