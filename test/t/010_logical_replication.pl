# Changes applied by logical replication are captured.
#
# Two clusters: a publisher (wal_level = logical) and a subscriber whose
# DIFFERENTIAL stream tables read the subscribed table.  The apply worker
# writes with session_replication_role = replica and fires row-level
# triggers only (and statement-level TRUNCATE triggers): the REPLICA row
# capture triggers must capture its inserts, updates and deletes, the
# TRUNCATE trigger its truncates, each exactly once.  A local session with
# session_replication_role = replica is captured the same way.  After each
# step the subscription catches up, the stream tables are refreshed and
# compared with their queries.  check_cdc_health reports a capture trigger
# that cannot fire (disabled, or enabled for the wrong role).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgtTap;

my $pub = PostgreSQL::Test::Cluster->new('publisher');
$pub->init(allows_streaming => 'logical');
# wait_for_catchup waits for pg_current_wal_lsn(), the WAL written: with
# the tests' synchronous_commit = off that can precede the commit record,
# and the subscriber would report having caught up before applying it
$pub->append_conf('postgresql.conf', 'synchronous_commit = on');
$pub->start;

my $sub = PostgreSQL::Test::Cluster->new('subscriber');
$sub->init;
$sub->start;

my $table = q{CREATE TABLE src (id int PRIMARY KEY, g int NOT NULL, v int)};
$pub->safe_psql('postgres', qq{
	$table;
	INSERT INTO src SELECT i, i % 4, i FROM generate_series(1, 40) i;
	CREATE PUBLICATION pub FOR TABLE src;
});
my $connstr = $pub->connstr . ' dbname=postgres';
$sub->safe_psql('postgres', qq{
	$table;
	CREATE SUBSCRIPTION sub CONNECTION '$connstr' PUBLICATION pub;
});
$sub->wait_for_subscription_sync($pub, 'sub');
is($sub->safe_psql('postgres', 'SELECT count(*) FROM src'), '40', 'initial data replicated');

my %queries = (
	agg => 'SELECT g, count(*) AS n, sum(v) AS total FROM src GROUP BY g',
	proj => 'SELECT id, v FROM src WHERE v % 2 = 0',
);
$sub->safe_psql('postgres', qq{
	CREATE EXTENSION pg_trickle;
	SELECT pgtrickle.create_stream_table('agg', '$queries{agg}', '1m', 'DIFFERENTIAL');
	SELECT pgtrickle.create_stream_table('proj', '$queries{proj}', '1m', 'DIFFERENTIAL');
});

my %columns = (agg => 'g, n, total', proj => 'id, v');

sub check
{
	my ($step) = @_;
	foreach my $st (sort keys %queries)
	{
		$sub->safe_psql('postgres', "SELECT pgtrickle.refresh_stream_table('$st')");
		is(stream_table_differs($sub, 'postgres', "SELECT $columns{$st} FROM $st", $queries{$st}),
			'0', "$step: $st equals its query")
		  or diag($sub->safe_psql('postgres', qq{
			SELECT action, reason, rows_inserted, rows_deleted FROM pgtrickle.pgt_refresh_history
			 ORDER BY refresh_id DESC LIMIT 4;
			TABLE $st; $queries{$st}}));
	}
}

sub on_publisher
{
	my ($step, $sql) = @_;
	$pub->safe_psql('postgres', $sql);
	$pub->wait_for_catchup('sub');
	check($step);
}

on_publisher('insert', 'INSERT INTO src SELECT i, i % 4, i FROM generate_series(41, 60) i');
on_publisher('update', 'UPDATE src SET v = v + 1 WHERE id % 3 = 0');
on_publisher('update of the key and group', 'UPDATE src SET id = id + 1000, g = g + 1 WHERE id <= 5');
on_publisher('delete', 'DELETE FROM src WHERE id % 5 = 0');
on_publisher('several changes in one transaction', q{
	BEGIN;
	INSERT INTO src VALUES (500, 1, 7);
	UPDATE src SET v = 8 WHERE id = 500;
	DELETE FROM src WHERE id = 500;
	INSERT INTO src VALUES (501, 2, 9);
	UPDATE src SET v = v * 2 WHERE g = 2;
	COMMIT;
});
on_publisher('truncate', 'TRUNCATE src');
on_publisher('insert after truncate', 'INSERT INTO src SELECT i, i % 4, i FROM generate_series(1, 30) i');

# a local session that writes as a replica would
$sub->safe_psql('postgres', q{
	SET session_replication_role = replica;
	INSERT INTO src SELECT i, i % 4, i FROM generate_series(2001, 2010) i;
	UPDATE src SET v = -v WHERE id BETWEEN 2001 AND 2005;
	DELETE FROM src WHERE id IN (2006, 2007);
});
check('local session with session_replication_role = replica');
$sub->safe_psql('postgres', q{
	SET session_replication_role = replica;
	DELETE FROM src WHERE id > 2000;
});
check('local delete as replica');

# and an ordinary local session is still captured once
$sub->safe_psql('postgres', q{
	INSERT INTO src VALUES (3001, 1, 1);
	UPDATE src SET v = 2 WHERE id = 3001;
	DELETE FROM src WHERE id = 3001;
	INSERT INTO src VALUES (3002, 2, 2);
});
check('ordinary local session');
on_publisher('publisher again', 'UPDATE src SET v = 0 WHERE id <= 10');

# health: healthy now; a capture trigger that cannot fire for the apply
# worker is critical
my $health = q{
	SELECT string_agg(coalesce(issue, '') || '|' || healthy, ';' ORDER BY pgt_name)
	  FROM pgtrickle.check_cdc_health() WHERE source_table = 'src'};
is($sub->safe_psql('postgres', $health), '|true;|true', 'capture is healthy');
$sub->safe_psql('postgres', 'ALTER TABLE src DISABLE TRIGGER pgt_capture_ins_replica');
like($sub->safe_psql('postgres', $health), qr/capture trigger disabled: pgt_capture_ins_replica\|false/,
	'a disabled replica capture trigger is reported');
$sub->safe_psql('postgres', 'ALTER TABLE src ENABLE TRIGGER pgt_capture_ins_replica');
like($sub->safe_psql('postgres', $health),
	qr/capture trigger enabled for the wrong session_replication_role: pgt_capture_ins_replica \(ENABLE instead of ENABLE REPLICA\)\|false/,
	'a replica capture trigger enabled for ordinary sessions is reported');
$sub->safe_psql('postgres', 'ALTER TABLE src ENABLE ALWAYS TRIGGER pgt_capture_upd');
like($sub->safe_psql('postgres', $health),
	qr/pgt_capture_upd \(ENABLE ALWAYS instead of ENABLE\)/,
	'a statement capture trigger enabled ALWAYS (would capture twice) is reported');
$sub->safe_psql('postgres', q{
	ALTER TABLE src ENABLE REPLICA TRIGGER pgt_capture_ins_replica;
	ALTER TABLE src ENABLE TRIGGER pgt_capture_upd;
});
is($sub->safe_psql('postgres', $health), '|true;|true', 'healthy again');

$sub->stop;
$pub->stop;
done_testing();
