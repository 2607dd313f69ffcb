# Background worker slots are taken only while there is work.
#
# Several databases with the extension and a small max_worker_processes:
# a database with no stream table to refresh, or with pg_trickle.enabled =
# off, holds no scheduler (only the launcher stays), so parallel query still
# gets its workers; quick_health still says the databases are served.  New
# work (a stream table created, resumed, given a shorter schedule, or
# pg_trickle.enabled turned on) brings the scheduler back within a few
# seconds, and it refreshes.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use PgtTap;

my @dbs = map { "slots$_" } 1 .. 5;

my $node = scheduler_node('worker_slots', q{
max_worker_processes = 4
max_parallel_workers = 4
});

$node->safe_psql('postgres', "CREATE DATABASE $_") for @dbs;
$node->safe_psql($_, 'CREATE EXTENSION pg_trickle') for @dbs;

sub schedulers
{
	my ($where) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT count(*) FROM pg_stat_activity
		 WHERE backend_type = 'pg_trickle scheduler' @{[$where // '']}});
}

# workers a parallel scan gets (the postgres database has no extension)
sub parallel_workers
{
	my $plan = $node->safe_psql('postgres', q{
		SET parallel_setup_cost = 0;
		SET parallel_tuple_cost = 0;
		SET min_parallel_table_scan_size = 0;
		SET max_parallel_workers_per_gather = 2;
		EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM big});
	return $plan =~ /Workers Launched: (\d+)/ ? $1 : 0;
}

# seconds until QUERY (in DB) returns true, or undef after 30 s
sub seconds_until
{
	my ($db, $query) = @_;
	my $t0 = time;
	while (time - $t0 < 30)
	{
		return time - $t0 if $node->safe_psql($db, $query) eq 't';
		select(undef, undef, undef, 0.05);
	}
	return undef;
}

sub scheduler_in
{
	my ($db) = @_;
	return "SELECT count(*) = 1 FROM pg_stat_activity"
	  . " WHERE backend_type = 'pg_trickle scheduler' AND datname = '$db'";
}

$node->safe_psql('postgres', 'CREATE TABLE big AS SELECT g FROM generate_series(1, 100000) g');

# at start the launcher visits every database once, a few at a time here
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'pg_trickle scheduler'}),
	'databases with nothing to refresh hold no scheduler');
sleep 3;
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'pg_trickle scheduler'}),
	'once all were visited, none');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_trickle launcher'}),
	'1', 'the launcher stays');
is(parallel_workers(), '2', 'parallel query gets its workers');
is($node->safe_psql('slots1', 'SELECT scheduler_running, status FROM pgtrickle.quick_health'),
	"t|EMPTY", 'quick_health: the database is served');
sleep 2;
is(schedulers(), '0', 'no scheduler comes back by itself');

# new work brings the scheduler back
$node->safe_psql('slots3', q{
	CREATE TABLE src (id int PRIMARY KEY, v int);
	INSERT INTO src VALUES (1, 1);
	SELECT pgtrickle.create_stream_table('st', 'SELECT count(*) AS n, sum(v) AS total FROM src', '1s');
});
my $secs = seconds_until('slots3', scheduler_in('slots3'));
ok(defined $secs && $secs < 5, 'create_stream_table brings the scheduler back promptly')
  or diag("after " . ($secs // 'never'));
is(schedulers("AND datname <> 'slots3'"), '0', 'the other databases hold none');
$node->safe_psql('slots3', 'INSERT INTO src VALUES (2, 10)');
ok($node->poll_query_until('slots3', 'SELECT n = 2 AND total = 11 FROM st'),
	'and it refreshes');

# paused: nothing to do, the scheduler goes; resumed: it comes back
$node->safe_psql('slots3', q{SELECT pgtrickle.pause_stream_table('st')});
ok($node->poll_query_until('slots3', q{
	SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type LIKE 'pg_trickle%' AND datname = 'slots3'}),
	'a database whose only stream table is paused holds no worker');
is($node->safe_psql('slots3', 'SELECT scheduler_running FROM pgtrickle.quick_health'), 't',
	'quick_health: still served');
$node->safe_psql('slots3', q{SELECT pgtrickle.resume_stream_table('st')});
$secs = seconds_until('slots3', scheduler_in('slots3'));
ok(defined $secs && $secs < 5, 'resume_stream_table brings the scheduler back promptly')
  or diag("after " . ($secs // 'never'));

# a schedule far away: the scheduler sleeps; a shorter one wakes it
$node->safe_psql('slots3', q{SELECT pgtrickle.alter_stream_table('st', schedule => '1h')});
ok($node->poll_query_until('slots3', q{
	SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'pg_trickle scheduler' AND datname = 'slots3'}),
	'nothing due within a minute: the scheduler sleeps');
$node->safe_psql('slots3', q{SELECT pgtrickle.alter_stream_table('st', schedule => '1s')});
$secs = seconds_until('slots3', scheduler_in('slots3'));
ok(defined $secs && $secs < 5, 'a shorter schedule brings the scheduler back promptly')
  or diag("after " . ($secs // 'never'));
$node->safe_psql('slots3', 'INSERT INTO src VALUES (3, 100)');
ok($node->poll_query_until('slots3', 'SELECT n = 3 FROM st'), 'and it refreshes');

# pg_trickle.enabled = off: no scheduler anywhere
$node->safe_psql('postgres', q{ALTER SYSTEM SET pg_trickle.enabled = off; SELECT pg_reload_conf()});
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'pg_trickle scheduler'}),
	'pg_trickle.enabled = off: no scheduler holds a slot');
is(parallel_workers(), '2', 'parallel query gets its workers');
is($node->safe_psql('slots3', 'SELECT scheduler_running FROM pgtrickle.quick_health'), 't',
	'quick_health: served (enabled = off is configuration, not a failure)');
$node->safe_psql('slots3', q{SELECT pgtrickle.create_stream_table('st2', 'SELECT count(*) AS n FROM src', '1s')});
sleep 2;
is(schedulers(), '0', 'with enabled = off new work starts no scheduler');

$node->safe_psql('postgres', q{ALTER SYSTEM RESET pg_trickle.enabled; SELECT pg_reload_conf()});
$secs = seconds_until('slots3', scheduler_in('slots3'));
ok(defined $secs && $secs < 5, 'turning pg_trickle.enabled on brings the scheduler back promptly')
  or diag("after " . ($secs // 'never'));
$node->safe_psql('slots3', 'INSERT INTO src VALUES (4, 1000)');
ok($node->poll_query_until('slots3', 'SELECT n = 4 FROM st2'), 'and it refreshes');

# a restarted server: the launcher finds the databases, none holds a slot
$node->restart;
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_trickle scheduler' AND datname = 'slots3'}),
	'after a restart the database with work has its scheduler');
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_trickle scheduler'}),
	'and only that one');

# no slot for a database that has work: quick_health says it is not served
$node->append_conf('postgresql.conf', 'max_worker_processes = 3');
$node->restart;
$node->safe_psql('slots4', q{
	CREATE TABLE src4 (v int);
	SELECT pgtrickle.create_stream_table('st4', 'SELECT count(*) AS n FROM src4', '1s');
});
# the launcher and the logical replication launcher take two slots, one
# scheduler the third: slots3 or slots4 (whichever started first) is
# served, the other is not
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_trickle scheduler'}),
	'one slot left: one scheduler');
# (read again while empty: a scheduler restarting between two rounds is
# briefly absent from pg_stat_activity)
my $served = '';
foreach my $try (1 .. 100)
{
	$served = $node->safe_psql('postgres', q{
		SELECT datname FROM pg_stat_activity WHERE backend_type = 'pg_trickle scheduler'});
	last if $served ne '';
	usleep(100_000);
}
my $starved = $served eq 'slots3' ? 'slots4' : 'slots3';
ok($node->poll_query_until($starved, q{
	SELECT NOT scheduler_running AND status = 'WARNING' FROM pgtrickle.quick_health}),
	'the database whose scheduler cannot start is not served (WARNING)');
is($node->safe_psql($served, 'SELECT scheduler_running FROM pgtrickle.quick_health'), 't',
	'the one with the scheduler is served');
is($node->safe_psql('slots1', 'SELECT status FROM pgtrickle.quick_health'), 'EMPTY',
	'a database without stream tables is EMPTY, served or not');

$node->stop;
done_testing();
