# The error policy of scheduled refreshes.
#
# A refresh that fails with a transient error (here: the lock on its source
# cannot be had within lock_timeout, set for the whole database, so it holds
# for whichever backend of that database runs the refresh) is recorded as a
# FAILED attempt and retried with back-off while the table stays ACTIVE;
# after pg_trickle.max_consecutive_errors failures in a row the table is
# SUSPENDED and left alone.  Another stream table keeps refreshing all the
# while.  The monitoring views show the suspended table; resume_stream_table
# clears the errors and the table catches up with its query.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgtTap;

my $interval_ms = 200;
my $max_errors = 4;

my $node = scheduler_node('error_policy', qq{
pg_trickle.scheduler_interval_ms = $interval_ms
pg_trickle.max_consecutive_errors = $max_errors
});

# The setting is read when a backend of the database connects: set it before
# CREATE EXTENSION starts the database's scheduler.
$node->safe_psql('postgres', 'CREATE DATABASE errdb');
$node->safe_psql('postgres', q{ALTER DATABASE errdb SET lock_timeout = '300ms'});
$node->safe_psql('errdb', q{
	CREATE EXTENSION pg_trickle;
	CREATE TABLE src (id int PRIMARY KEY, v int);
	INSERT INTO src SELECT g, g FROM generate_series(1, 10) g;
	SELECT pgtrickle.create_stream_table('totals',
	    'SELECT id % 3 AS k, count(*) AS n, sum(v) AS total FROM src GROUP BY id % 3',
	    '1s', 'DIFFERENTIAL');
	CREATE TABLE other_src (v int);
	SELECT pgtrickle.create_stream_table('bystander', 'SELECT count(*) AS n FROM other_src',
	                                     '1s', 'DIFFERENTIAL');
});
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_trickle scheduler' AND datname = 'errdb'"),
	'a scheduler runs in the database');
$node->safe_psql('errdb', 'INSERT INTO src VALUES (11, 11)');
ok($node->poll_query_until('errdb', q{
	SELECT count(*) > 0 FROM pgtrickle.pgt_refresh_history h
	  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_name = 'totals' AND h.initiated_by = 'SCHEDULER' AND h.status = 'COMPLETED'}),
	'the scheduler refreshes the stream table');

my $totals_query = 'SELECT id % 3 AS k, count(*) AS n, sum(v) AS total FROM src GROUP BY id % 3';

# rows of the stream table and of its query that the other lacks (0: equal)
sub oracle
{
	return stream_table_differs($node, 'errdb', 'SELECT k, n, total FROM totals', $totals_query);
}

sub totals_row
{
	my ($columns) = @_;
	return $node->safe_psql('errdb',
		"SELECT $columns FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'totals'");
}

# history rows of totals written by the scheduler after refresh_id $after
sub attempts_after
{
	my ($after, $status) = @_;
	return $node->safe_psql('errdb', qq{
		SELECT count(*) FROM pgtrickle.pgt_refresh_history h
		  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
		 WHERE s.pgt_name = 'totals' AND h.refresh_id > $after
		   AND h.initiated_by = 'SCHEDULER' AND h.status = '$status'});
}

# wait until the scheduler has handled bystander $n more times (refreshed
# it, or confirmed it fresh: both move last_refresh_at): a clock that proves
# the scheduler goes on working
sub wait_bystander_rounds
{
	my ($n) = @_;
	for (1 .. $n)
	{
		my $last = $node->safe_psql('errdb',
			"SELECT last_refresh_at FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'bystander'");
		return 0 unless $node->poll_query_until('errdb', qq{
			SELECT last_refresh_at > '$last' FROM pgtrickle.pgt_stream_tables
			 WHERE pgt_name = 'bystander'});
	}
	return 1;
}

# --- the blocker: a session that holds the source's lock ---------------------

# A change is pending (captured while totals is paused), so the next
# scheduled refresh has to read the source: a table with nothing pending is
# confirmed fresh without reading its sources, and would not fail.
$node->safe_psql('errdb', q{SELECT pgtrickle.pause_stream_table('totals')});
$node->safe_psql('errdb', 'INSERT INTO src VALUES (12, 12)');
my $before = $node->safe_psql('errdb', 'SELECT coalesce(max(refresh_id), 0) FROM pgtrickle.pgt_refresh_history');
my $blocker = $node->background_psql('errdb');
$blocker->query_safe(q{SET lock_timeout = 0});
$blocker->query_safe(q{BEGIN});
$blocker->query_safe(q{LOCK TABLE src IN ACCESS EXCLUSIVE MODE});
$node->safe_psql('errdb', q{SELECT pgtrickle.resume_stream_table('totals')});
my $blocked_at = $node->safe_psql('errdb', 'SELECT extract(epoch FROM clock_timestamp())');

# while totals fails, bystander keeps up with its source
$node->safe_psql('errdb', 'INSERT INTO other_src SELECT generate_series(1, 5)');

ok($node->poll_query_until('errdb', qq{
	SELECT status = 'ACTIVE' AND consecutive_errors BETWEEN 1 AND @{[$max_errors - 1]}
	   AND last_error_message LIKE '%lock timeout%' AND last_error_at IS NOT NULL
	  FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'totals'}),
	'a transient failure is counted and the table stays ACTIVE while it is retried');
ok(attempts_after($before, 'FAILED') >= 1, 'the failed attempt has a FAILED history row');
ok($node->poll_query_until('errdb', 'SELECT n = 5 FROM bystander'),
	'another stream table is refreshed while one keeps failing');

ok($node->poll_query_until('errdb', q{
	SELECT status = 'SUSPENDED' FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'totals'}),
	"SUSPENDED after pg_trickle.max_consecutive_errors ($max_errors) failures");
my $suspended_at = $node->safe_psql('errdb', 'SELECT extract(epoch FROM clock_timestamp())');
is(totals_row('consecutive_errors'), $max_errors, 'consecutive_errors counts every failure');
like(totals_row('last_error_message'), qr/lock timeout/, 'last_error_message says why');
is(attempts_after($before, 'FAILED'), $max_errors, 'one FAILED history row per attempt');
is($node->safe_psql('errdb', qq{
	SELECT count(*) FROM pgtrickle.pgt_refresh_history h
	  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_name = 'totals' AND h.refresh_id > $before
	   AND (h.status <> 'FAILED' OR h.end_time IS NULL
	        OR h.error_message NOT LIKE '%lock timeout%')}),
	'0', 'every attempt ended FAILED with the error, none is left RUNNING');
is($node->safe_psql('errdb', q{
	SELECT count(*) FROM pgtrickle.get_refresh_history('totals', 100)
	 WHERE status = 'FAILED' AND error_message LIKE '%lock timeout%' AND initiated_by = 'SCHEDULER'}),
	$max_errors, 'get_refresh_history lists the failed attempts');

# Back-off: the k-th retry waits at least scheduler_interval_ms * 2^k after
# the k-th failure (README of src/scheduler), so attempts are spread out
# more and more.  Only lower bounds are checked: a slow machine can make
# gaps longer, never shorter.
my @gaps = split /\n/, $node->safe_psql('errdb', qq{
	SELECT round(extract(epoch FROM h.start_time - lag(h.end_time) OVER (ORDER BY h.refresh_id)) * 1000)
	  FROM pgtrickle.pgt_refresh_history h
	  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_name = 'totals' AND h.refresh_id > $before AND h.status = 'FAILED'
	 ORDER BY h.refresh_id OFFSET 1});
is(scalar(@gaps), $max_errors - 1, 'retries after the first failure');
for my $k (1 .. scalar(@gaps))
{
	my $min = $interval_ms * 2**$k;
	cmp_ok($gaps[ $k - 1 ], '>=', $min * 0.95,
		"retry $k waited at least ${min} ms after the failure before it");
}
cmp_ok($gaps[-1], '>', $gaps[0], 'the wait between attempts grows')
  or diag("attempts:\n" . $node->safe_psql('errdb', qq{
	SELECT h.refresh_id, h.start_time, h.end_time, h.status
	  FROM pgtrickle.pgt_refresh_history h
	  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_name = 'totals' AND h.refresh_id > $before ORDER BY h.refresh_id}));
my $rounds = ($suspended_at - $blocked_at) * 1000 / $interval_ms;
cmp_ok($max_errors, '<', $rounds / 2,
	"far fewer attempts ($max_errors) than scheduler rounds (about " . int($rounds) . ')');

# the monitoring views show it
is($node->safe_psql('errdb', q{
	SELECT error_tables || ' ' || status || ' ' || scheduler_running FROM pgtrickle.quick_health}),
	'1 CRITICAL true', 'quick_health counts the SUSPENDED table and says CRITICAL');
is($node->safe_psql('errdb', qq{
	SELECT status, consecutive_errors, failed_refreshes >= $max_errors, last_status,
	       last_error_message LIKE '%lock timeout%', stale
	  FROM pgtrickle.pg_stat_stream_tables WHERE pgt_name = 'totals'}),
	"SUSPENDED|$max_errors|t|FAILED|t|f",
	'pg_stat_stream_tables shows status, errors, failed refreshes and the message');
is($node->safe_psql('errdb', q{
	SELECT status FROM pgtrickle.pg_stat_stream_tables WHERE pgt_name = 'bystander'}),
	'ACTIVE', 'the other stream table is ACTIVE');

# SUSPENDED: the scheduler leaves the table alone, also once the lock is gone
$blocker->query_safe(q{COMMIT});
$blocker->quit;
my $last = $node->safe_psql('errdb', 'SELECT max(refresh_id) FROM pgtrickle.pgt_refresh_history');
$node->safe_psql('errdb', 'INSERT INTO src VALUES (100, 100), (101, 101)');
$node->safe_psql('errdb', 'INSERT INTO other_src VALUES (6)');
ok($node->poll_query_until('errdb', 'SELECT n = 6 FROM bystander'),
	'the other stream table follows its source');
ok(wait_bystander_rounds(3), 'the scheduler goes on with the other stream table');
is($node->safe_psql('errdb', qq{
	SELECT count(*) FROM pgtrickle.pgt_refresh_history h
	  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_name = 'totals' AND h.refresh_id > $last}),
	'0', 'no refresh of the SUSPENDED table is attempted');
is(totals_row('status'), 'SUSPENDED', 'it stays SUSPENDED when the cause is gone');
isnt(oracle(), '0', 'and it is behind its query');
ok($node->poll_query_until('errdb', q{
	SELECT buffer_rows > 0 AND NOT healthy AND issue LIKE '%buffer growing%status SUSPENDED%'
	  FROM pgtrickle.check_cdc_health() WHERE pgt_name = 'totals'}),
	'check_cdc_health reports the changes piling up for the SUSPENDED table');

# resume clears the error state; the table catches up
$node->safe_psql('errdb', q{SELECT pgtrickle.resume_stream_table('totals')});
is(totals_row(q{status || ' ' || consecutive_errors || ' ' || (last_error_message IS NULL) || ' ' || (last_error_at IS NULL)}),
	'ACTIVE 0 true true', 'resume_stream_table: ACTIVE, errors cleared');
ok($node->poll_query_until('errdb', qq{
	SELECT count(*) > 0 FROM pgtrickle.pgt_refresh_history h
	  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_name = 'totals' AND h.refresh_id > $last
	   AND h.initiated_by = 'SCHEDULER' AND h.status = 'COMPLETED'}),
	'resumed, it is refreshed by the scheduler');
is(oracle(), '0', 'the stream table equals its query');
is($node->safe_psql('errdb', q{SET lock_timeout = 0; SELECT count(*) FROM pgtrickle.verify_stream_table('totals')}), '0',
	'verify_stream_table finds no difference');
is(totals_row(q{status || ' ' || consecutive_errors}), 'ACTIVE 0', 'ACTIVE without errors');
is($node->safe_psql('errdb', q{SELECT error_tables || ' ' || status FROM pgtrickle.quick_health}),
	'0 OK', 'quick_health is OK again');

$node->stop;
done_testing();
