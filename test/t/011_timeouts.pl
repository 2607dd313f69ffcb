# Scheduled refreshes honour statement_timeout like any session, and a
# cancel or terminate of a refreshing worker takes effect promptly.
#
# statement_timeout comes from ALTER DATABASE, from ALTER ROLE (of the
# stream table's owner, as a session of that role would have it) and from
# ALTER SYSTEM; each is set after the refresh workers started, so a value
# read only at connection would be missed.  A refresh cut off by it is an
# ordinary failed refresh: a FAILED history row with the server's message.
# The slow query needs about 20 s; the bounds below are generous (the
# timeout is 300 ms), they only tell "stopped by the timeout" from "ran to
# its end".
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgtTap;

my $node = scheduler_node('timeouts', q{
pg_trickle.max_consecutive_errors = 100
});

$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_trickle;
	CREATE ROLE alice LOGIN;
	GRANT CREATE ON SCHEMA public TO alice;
	CREATE TABLE slow_src (id int);
	INSERT INTO slow_src SELECT generate_series(1, 2000);
	GRANT SELECT ON slow_src TO alice;
	-- keeps the scheduler (and a refresh worker) busy from the start
	CREATE TABLE tick_src (v int);
	SELECT pgtrickle.create_stream_table('tick', 'SELECT count(*) AS n FROM tick_src',
	                                     '1s', 'FULL');
});
ok($node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'pg_trickle refresh worker'"),
	'refresh workers run');

# the last FAILED refresh of slow after refresh_id $after: "message|seconds"
sub failure_after
{
	my ($after) = @_;
	my $row = '';
	$node->poll_query_until('postgres', qq{
		SELECT count(*) > 0 FROM pgtrickle.pgt_refresh_history h
		  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
		 WHERE s.pgt_name = 'slow' AND h.refresh_id > $after AND h.status = 'FAILED'});
	return $node->safe_psql('postgres', qq{
		SELECT h.error_message || '|' || extract(epoch FROM h.end_time - h.start_time)::numeric(10,1)
		  FROM pgtrickle.pgt_refresh_history h
		  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
		 WHERE s.pgt_name = 'slow' AND h.refresh_id > $after AND h.status = 'FAILED'
		 ORDER BY h.refresh_id LIMIT 1});
}

sub last_refresh_id
{
	return $node->safe_psql('postgres',
		'SELECT coalesce(max(refresh_id), 0) FROM pgtrickle.pgt_refresh_history');
}

sub check_timed_out
{
	my ($what) = @_;
	my ($message, $seconds) = split /\|/, failure_after(last_refresh_id());
	is($message, 'canceling statement due to statement timeout',
		"$what: the scheduled refresh fails with the statement timeout");
	ok(defined $seconds && $seconds < 10,
		"$what: it stopped long before the query's end (took ${\ ($seconds // '?')} s)");
	# not yet populated: INITIALIZING; not ERROR (that would not be retried)
	is($node->safe_psql('postgres', q{SELECT status IN ('ACTIVE', 'INITIALIZING') FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'slow'}),
		't', "$what: a timeout is a transient failure (retried)");
}

# 1. ALTER DATABASE, after the workers connected
$node->safe_psql('postgres', q{ALTER DATABASE postgres SET statement_timeout = '300ms'});
$node->safe_psql('postgres', q{
	SET statement_timeout = 0;
	-- 10 ms per row: about 20 s per refresh
	SELECT pgtrickle.create_stream_table('slow',
	    'SELECT id FROM slow_src WHERE pg_sleep(0.01) IS NOT NULL', '1s', 'FULL',
	    initialize => false);
});
check_timed_out('ALTER DATABASE');
$node->safe_psql('postgres', q{SET statement_timeout = 0; ALTER DATABASE postgres RESET statement_timeout});

# 2. ALTER ROLE of the stream table's owner
$node->safe_psql('postgres', q{
	SELECT pgtrickle.pause_stream_table('slow');
	ALTER TABLE slow OWNER TO alice;
	ALTER ROLE alice SET statement_timeout = '300ms';
	SELECT pgtrickle.resume_stream_table('slow');
});
check_timed_out('ALTER ROLE owner');
$node->safe_psql('postgres', q{SET statement_timeout = 0; ALTER ROLE alice RESET statement_timeout});

# 3. ALTER SYSTEM (a reload); resuming clears the back-off of the failures
$node->safe_psql('postgres', q{SELECT pgtrickle.resume_stream_table('slow')});
$node->safe_psql('postgres', q{ALTER SYSTEM SET statement_timeout = '300ms'; SELECT pg_reload_conf()});
check_timed_out('ALTER SYSTEM');
$node->safe_psql('postgres', q{SET statement_timeout = 0; ALTER SYSTEM RESET statement_timeout; SELECT pg_reload_conf()});

# 4. pg_cancel_backend and pg_terminate_backend of the refreshing worker,
# once it refreshes without a timeout (every RESET above reached it)
sub refreshing_worker
{
	my $running = q{
		FROM pg_stat_activity
		 WHERE backend_type = 'pg_trickle refresh worker' AND query LIKE '%refreshing public.slow%'
		   AND state = 'active' AND now() - query_start > interval '1 s'};
	$node->poll_query_until('postgres', "SELECT count(*) > 0 $running");
	return $node->safe_psql('postgres', "SELECT pid $running");
}

$node->safe_psql('postgres', q{SELECT pgtrickle.resume_stream_table('slow')});
my $pid = refreshing_worker();
# the history row of the refresh it runs (RUNNING, updated when it ends)
my $running = q{
	SELECT max(h.refresh_id) - 1 FROM pgtrickle.pgt_refresh_history h
	  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_name = 'slow' AND h.status = 'RUNNING'};
my $after = $node->safe_psql('postgres', $running);
ok($pid, 'a worker refreshes slow');
$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
my ($message, $seconds) = split /\|/, failure_after($after);
is($message, 'canceling statement due to user request', 'pg_cancel_backend fails the refresh');
ok(defined $seconds && $seconds < 10, "at once (the refresh took $seconds s)");
is($node->safe_psql('postgres', q{SELECT status IN ('ACTIVE', 'INITIALIZING') FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'slow'}),
	't', 'a cancelled refresh is retried');

$pid = refreshing_worker();
$after = $node->safe_psql('postgres', $running);
my $t0 = time();
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid"),
	'pg_terminate_backend ends the worker');
ok(time() - $t0 < 10, 'promptly');
ok($node->poll_query_until('postgres', qq{
	SELECT count(*) > 0 FROM pgtrickle.pgt_refresh_history h
	  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_name = 'slow' AND h.refresh_id > $after AND h.status = 'FAILED'}),
	'the interrupted refresh is marked FAILED')
  or diag($node->safe_psql('postgres', q{
	SELECT pid, backend_type, state, wait_event_type, wait_event, query FROM pg_stat_activity;
	SELECT * FROM pgtrickle.pgt_refresh_history ORDER BY refresh_id DESC LIMIT 5;
	SELECT locktype, relation::regclass, mode, granted, pid FROM pg_locks WHERE relation IS NOT NULL}));

# the scheduler goes on: tick still refreshes
$node->safe_psql('postgres', 'INSERT INTO tick_src VALUES (1)');
ok($node->poll_query_until('postgres', 'SELECT n = 1 FROM tick'), 'other stream tables keep refreshing');

$node->stop;
done_testing();
