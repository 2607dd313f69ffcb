# Replicas: on a streaming standby stream tables are readable and nothing
# refreshes (the launcher starts only once recovery has finished); after
# promotion the scheduler takes over.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgtTap;

my $primary = scheduler_node('primary', '', allows_streaming => 1);
$primary->safe_psql('postgres', q{
	CREATE EXTENSION pg_trickle;
	CREATE TABLE src (id int PRIMARY KEY, v int);
	INSERT INTO src SELECT g, g FROM generate_series(1, 10) g;
	SELECT pgtrickle.create_stream_table('st', 'SELECT count(*) AS n, sum(v) AS total FROM src',
	                                     '1s', 'DIFFERENTIAL');
});
$primary->backup('base');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

$primary->safe_psql('postgres', 'INSERT INTO src VALUES (11, 11)');
ok($primary->poll_query_until('postgres', 'SELECT n = 11 FROM st'), 'the primary refreshes');
$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres', 'SELECT n, total FROM st'), '11|66',
	'the standby reads the stream table as refreshed on the primary');
is($standby->safe_psql('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'pg_trickle%'"), '0',
	'no launcher or scheduler runs on the standby');
my ($ret, $out, $err) = $standby->psql('postgres', q{SELECT pgtrickle.refresh_stream_table('st')});
isnt($ret, 0, 'a refresh on the standby fails (read-only)');

# promotion: the scheduler takes over, and changes made since are not lost
$primary->safe_psql('postgres', q{ALTER SYSTEM SET pg_trickle.enabled = off; SELECT pg_reload_conf()});
sleep(1);
$primary->safe_psql('postgres', 'INSERT INTO src VALUES (12, 12)');
$primary->wait_for_catchup($standby);
$primary->stop;
$standby->promote;
ok($standby->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_trickle scheduler' AND datname = 'postgres'"),
	'after promotion a scheduler runs');
$standby->safe_psql('postgres', 'INSERT INTO src VALUES (13, 13)');
ok($standby->poll_query_until('postgres', 'SELECT n = 13 AND total = 91 FROM st'),
	'the promoted server refreshes, with the change captured before promotion');
is($standby->safe_psql('postgres', q{SELECT count(*) FROM pgtrickle.verify_stream_table('st')}), '0',
	'verify_stream_table agrees');

$standby->stop;
done_testing();
