# The scheduler: background workers that keep stream tables fresh.
#
# A cluster with pg_trickle preloaded and the scheduler enabled: the
# launcher starts a scheduler in each database with the extension; due
# tables are refreshed (and checked against their query); a failing query
# sets ERROR with its message and resume recovers; paused tables and
# pg_trickle.enabled = off are left alone; DROP DATABASE and DROP EXTENSION
# work with a scheduler running.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgtTap;

my $node = scheduler_node('scheduler');

sub oracle
{
	my ($db, $st, $query) = @_;
	return stream_table_differs($node, $db, "SELECT n, total FROM $st", $query);
}

ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_trickle launcher'"),
	'the launcher runs');

$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_trickle;
	CREATE TABLE src (id int PRIMARY KEY, v int);
	INSERT INTO src VALUES (1, 1);
	SELECT pgtrickle.create_stream_table('st', 'SELECT count(*) AS n, sum(v) AS total FROM src',
	                                     '1s', 'DIFFERENTIAL');
});
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_trickle scheduler' AND datname = current_database()"),
	'CREATE EXTENSION starts a scheduler in the database');
is($node->safe_psql('postgres', 'SELECT scheduler_running FROM pgtrickle.quick_health'), 't',
	'quick_health sees the scheduler');

# scheduled refreshes follow the source
$node->safe_psql('postgres', 'INSERT INTO src VALUES (2, 10)');
ok($node->poll_query_until('postgres', 'SELECT n = 2 AND total = 11 FROM st'),
	'a due stream table is refreshed by the scheduler');
is(oracle('postgres', 'st', 'SELECT count(*) AS n, sum(v) AS total FROM src'), '0',
	'the stream table equals its query');
is($node->safe_psql('postgres', q{
	SELECT count(*) > 0 FROM pgtrickle.pgt_refresh_history
	 WHERE initiated_by = 'SCHEDULER' AND status = 'COMPLETED' AND action IN ('DIFFERENTIAL', 'NO_DATA')}),
	't', 'the history shows scheduled differential refreshes');

# upstream first: a chain is refreshed in one round
$node->safe_psql('postgres', q{
	SELECT pgtrickle.create_stream_table('st_down', 'SELECT n * 2 AS n2 FROM st', '1s', 'DIFFERENTIAL');
	INSERT INTO src VALUES (3, 100);
});
ok($node->poll_query_until('postgres', 'SELECT n2 = 6 FROM st_down'), 'a chain follows its source');

# a query that fails on new data sets ERROR at once, with the message
$node->safe_psql('postgres', q{
	CREATE TABLE divisors (d int);
	INSERT INTO divisors VALUES (1);
	SELECT pgtrickle.create_stream_table('quotients', 'SELECT 10 / d AS q FROM divisors', '1s', 'FULL');
	INSERT INTO divisors VALUES (0);
});
ok($node->poll_query_until('postgres',
	"SELECT status = 'ERROR' AND last_error_message LIKE '%division by zero%' FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'quotients'"),
	'a failing query sets ERROR with its message');
is($node->safe_psql('postgres', q{
	SELECT h.status FROM pgtrickle.pgt_refresh_history h JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_name = 'quotients' ORDER BY refresh_id DESC LIMIT 1}), 'FAILED',
	'the failed refresh has a FAILED history row');
$node->safe_psql('postgres', q{INSERT INTO src VALUES (4, 1000)});
ok($node->poll_query_until('postgres', 'SELECT n = 4 FROM st'),
	'an error of one stream table does not stop the others');
$node->safe_psql('postgres', q{
	DELETE FROM divisors WHERE d = 0;
	SELECT pgtrickle.resume_stream_table('quotients');
});
ok($node->poll_query_until('postgres', q{
	SELECT status = 'ACTIVE' AND consecutive_errors = 0 AND last_error_message IS NULL
	  FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'quotients'}), 'resume clears the error');

# paused tables are skipped, and so is everything with pg_trickle.enabled = off
$node->safe_psql('postgres', q{SELECT pgtrickle.pause_stream_table('st')});
$node->safe_psql('postgres', q{INSERT INTO src VALUES (5, 1)});
sleep(1);
is($node->safe_psql('postgres', 'SELECT n FROM st'), '4', 'a paused table is not refreshed');
$node->safe_psql('postgres', q{SELECT pgtrickle.resume_stream_table('st')});
ok($node->poll_query_until('postgres', 'SELECT n = 5 FROM st'), 'resumed, it catches up');

$node->safe_psql('postgres', q{ALTER SYSTEM SET pg_trickle.enabled = off; SELECT pg_reload_conf()});
sleep(1);
$node->safe_psql('postgres', q{INSERT INTO src VALUES (6, 1)});
sleep(1);
is($node->safe_psql('postgres', 'SELECT n FROM st'), '5', 'enabled = off: no scheduled refresh');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pgtrickle_changes.changes_} .
	$node->safe_psql('postgres', q{SELECT 'src'::regclass::oid}) . q{ WHERE __pgt_mult = 1}), '1',
	'enabled = off: changes are still captured');
$node->safe_psql('postgres', q{ALTER SYSTEM SET pg_trickle.enabled = on; SELECT pg_reload_conf()});
ok($node->poll_query_until('postgres', 'SELECT n = 6 FROM st'), 'enabled = on again: refreshed');
is(oracle('postgres', 'st', 'SELECT count(*) AS n, sum(v) AS total FROM src'), '0',
	'the stream table equals its query');

# DROP DATABASE and ALTER DATABASE RENAME with a scheduler running
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', q{
	CREATE EXTENSION pg_trickle;
	CREATE TABLE t (v int);
	SELECT pgtrickle.create_stream_table('t_st', 'SELECT count(*) AS n FROM t', '1s', 'DIFFERENTIAL');
});
# a change to refresh: a stream table with nothing pending needs no worker
$node->safe_psql('other', 'INSERT INTO t VALUES (1)');
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_trickle scheduler' AND datname = 'other'"),
	'a scheduler runs in the second database');
ok($node->poll_query_until('postgres',
	"SELECT count(*) >= 1 FROM pg_stat_activity WHERE backend_type = 'pg_trickle refresh worker' AND datname = 'other'"),
	'and a refresh worker of its own');
my ($ret, $out, $err) = $node->psql('postgres', 'ALTER DATABASE other RENAME TO other2');
is($ret, 0, 'ALTER DATABASE RENAME works with a scheduler running') or diag($err);
($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE other2');
is($ret, 0, 'DROP DATABASE works with a scheduler running') or diag($err);

# DROP EXTENSION stops the scheduler of that database
$node->safe_psql('postgres', 'CREATE DATABASE third');
$node->safe_psql('third', q{
	CREATE EXTENSION pg_trickle;
	CREATE TABLE t (v int);
	SELECT pgtrickle.create_stream_table('t_st', 'SELECT count(*) AS n FROM t', '1s', 'DIFFERENTIAL');
});
# a change to refresh: a stream table with nothing pending needs no worker
$node->safe_psql('third', 'INSERT INTO t VALUES (1)');
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_trickle scheduler' AND datname = 'third'"),
	'a scheduler runs in the third database');
ok($node->poll_query_until('postgres',
	"SELECT count(*) >= 1 FROM pg_stat_activity WHERE backend_type = 'pg_trickle refresh worker' AND datname = 'third'"),
	'with a refresh worker');
$node->safe_psql('third', 'DROP EXTENSION pg_trickle CASCADE');
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type LIKE 'pg_trickle%' AND datname = 'third'"),
	'DROP EXTENSION stops the scheduler and its refresh workers');

$node->stop;
done_testing();
