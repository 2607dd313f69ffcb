# pg_dump / pg_restore of a database with stream tables (DIFFERENTIAL,
# FULL, a chain, quoted names in an odd schema, a paused one, changes
# captured but not refreshed at dump time, one over a view on a view, one
# over a partitioned table),
# restored with the scheduler on:
# plain format through psql, custom and directory (-j 2) formats through
# pg_restore, into a new database and into a new cluster; one schema with
# --extension pg_trickle; schema-only then data-only.  Each restore must
# report no error, every stream table must come back set up (catalog rows
# pointing at the restored relations, capture in place, no restored buffer
# left), equal to its query, refreshed DIFFERENTIAL after a first
# recomputation, with new ids that do not collide with restored ones.  The
# commands are those of docs/operating.md, "Backups and restores".
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgtTap;

my $node = scheduler_node('dump');
my $other = scheduler_node('other');
my $work = PostgreSQL::Test::Utils::tempdir;

$node->safe_psql('postgres', q{
	CREATE DATABASE src;
});
$node->safe_psql('src', q{
	CREATE EXTENSION pg_trickle;
	CREATE SCHEMA "Odd.Schema x";
	CREATE TABLE orders (id int PRIMARY KEY, cust int, amount numeric);
	CREATE TABLE customers (id int PRIMARY KEY, region text);
	CREATE TABLE "Odd.Schema x"."My ""src"" t" (k int, v text);
	INSERT INTO customers SELECT g, 'r' || (g % 4) FROM generate_series(0, 9) g;
	INSERT INTO orders SELECT g, g % 10, g * 1.5 FROM generate_series(1, 300) g;
	INSERT INTO "Odd.Schema x"."My ""src"" t" SELECT g % 7, 'v' || g FROM generate_series(1, 60) g;
	SELECT pgtrickle.create_stream_table('by_region',
		'SELECT c.region, sum(o.amount) AS total, count(*) AS n
		   FROM orders o JOIN customers c ON c.id = o.cust GROUP BY c.region', '1s', 'DIFFERENTIAL');
	SELECT pgtrickle.create_stream_table('big_regions',
		'SELECT region, total FROM by_region WHERE n > 50', '1s', 'DIFFERENTIAL');
	SELECT pgtrickle.create_stream_table('max_amount',
		'SELECT cust, max(amount) AS m FROM orders GROUP BY cust', '1s', 'FULL');
	SELECT pgtrickle.create_stream_table('"Odd.Schema x"."St ""q"" 1"',
		'SELECT k, count(*) AS c FROM "Odd.Schema x"."My ""src"" t" GROUP BY k', '1s', 'DIFFERENTIAL');
	SELECT pgtrickle.create_stream_table('small_orders',
		'SELECT id, amount FROM orders WHERE id < 100', '1s', 'DIFFERENTIAL');
	SELECT pgtrickle.pause_stream_table('small_orders');
	-- a view on a view as the source: capture is on the tables under them
	CREATE VIEW cust_orders AS
	  SELECT o.id, o.amount, c.region FROM orders o JOIN customers c ON c.id = o.cust;
	CREATE VIEW big_cust_orders AS SELECT id, amount, region FROM cust_orders WHERE amount > 100;
	SELECT pgtrickle.create_stream_table('view_orders',
		'SELECT id, region, amount FROM big_cust_orders', '1s', 'DIFFERENTIAL');
	-- a partitioned table (with a sub-partitioned partition) as the source
	CREATE TABLE parted (id int, cust int, amount numeric) PARTITION BY RANGE (id);
	CREATE TABLE parted_lo PARTITION OF parted FOR VALUES FROM (MINVALUE) TO (100);
	CREATE TABLE parted_hi PARTITION OF parted FOR VALUES FROM (100) TO (MAXVALUE)
	  PARTITION BY LIST (cust);
	CREATE TABLE parted_hi_a PARTITION OF parted_hi FOR VALUES IN (0, 1, 2, 3, 4);
	CREATE TABLE parted_hi_b PARTITION OF parted_hi DEFAULT;
	INSERT INTO parted SELECT g, g % 10, g FROM generate_series(1, 300) g;
	SELECT pgtrickle.create_stream_table('parted_sum',
		'SELECT cust, count(*) AS n, sum(amount) AS total FROM parted GROUP BY cust', '1s', 'DIFFERENTIAL');
});
# changes captured but not refreshed when the dump is taken: the scheduler
# is off for this database meanwhile
$node->safe_psql('src', q{
	SELECT pgtrickle.alter_stream_table(n, status => 'PAUSED')
	  FROM unnest(ARRAY['by_region', 'big_regions', 'max_amount', '"Odd.Schema x"."St ""q"" 1"']) n;
	INSERT INTO orders SELECT g, g % 10, g FROM generate_series(301, 340) g;
	DELETE FROM orders WHERE id % 17 = 0;
	UPDATE "Odd.Schema x"."My ""src"" t" SET k = k + 1 WHERE k = 3;
	SELECT pgtrickle.alter_stream_table(n, status => 'ACTIVE')
	  FROM unnest(ARRAY['by_region', 'big_regions', 'max_amount', '"Odd.Schema x"."St ""q"" 1"']) n;
});

my $sq = '"Odd.Schema x"."St ""q"" 1"';
my $region_q = 'SELECT c.region, sum(o.amount) AS total, count(*) AS n
   FROM orders o JOIN customers c ON c.id = o.cust GROUP BY c.region';
my %query = (
	by_region => [ 'region, total, n', $region_q ],
	big_regions => [ 'region, total', "SELECT region, total FROM ($region_q) t WHERE n > 50" ],
	max_amount => [ 'cust, m', 'SELECT cust, max(amount) AS m FROM orders GROUP BY cust' ],
	$sq => [ 'k, c', 'SELECT k, count(*) AS c FROM "Odd.Schema x"."My ""src"" t" GROUP BY k' ],
	small_orders => [ 'id, amount', 'SELECT id, amount FROM orders WHERE id < 100' ],
	view_orders => [ 'id, region, amount', 'SELECT id, region, amount FROM big_cust_orders' ],
	parted_sum => [ 'cust, n, total',
		'SELECT cust, count(*) AS n, sum(amount) AS total FROM parted GROUP BY cust' ]);

# Rows not set up yet: a test-only look at what restore.c calls "armed".
my $unarmed_sql = q{
	SELECT count(*) FROM pgtrickle.pgt_stream_tables s
	 WHERE NOT EXISTS (SELECT 1 FROM pg_depend d
	                    WHERE d.objid = s.pgt_query_relid AND d.refobjid = s.pgt_relid
	                      AND d.deptype = 'i')};

# check(NODE, DB, NAME, SINCE, STREAM_TABLES): the restored database works;
# SINCE is the time the restore began.
sub check
{
	my ($n, $db, $name, $since, @sts) = @_;

	ok($n->poll_query_until($db, $unarmed_sql, '0'), "$name: every stream table is set up");
	is($n->safe_psql($db, q{
		SELECT count(*) FROM pgtrickle.pgt_stream_tables s
		 WHERE s.pgt_relid <> (quote_ident(pgt_schema) || '.' || quote_ident(pgt_name))::regclass
		    OR s.pgt_query_relid <> ('pgtrickle_defs.st_' || pgt_id)::regclass}),
		'0', "$name: catalog rows point at the restored relations");
	is($n->safe_psql($db, q{
		SELECT count(*) FROM pg_class b
		 WHERE b.relnamespace = 'pgtrickle_changes'::regnamespace AND b.relkind = 'r'
		   AND NOT EXISTS (SELECT 1 FROM pgtrickle.pgt_dependencies d
		                    WHERE b.relname = 'changes_' || d.source_relid)}),
		'0', "$name: no buffer of the dumped database is left");
	# the scheduler's first refreshes recompute; then changes flow
	ok($n->poll_query_until($db, qq{
		SELECT count(*) = 0 FROM pgtrickle.pgt_stream_tables s
		 WHERE s.status = 'ACTIVE' AND NOT EXISTS (
		       SELECT 1 FROM pgtrickle.pgt_refresh_history h
		        WHERE h.pgt_id = s.pgt_id AND h.status = 'COMPLETED'
		          AND h.initiated_by = 'SCHEDULER' AND h.start_time > '$since')}),
		"$name: the scheduler refreshes the restored tables");
	foreach my $st (@sts)
	{
		my ($cols, $q) = @{ $query{$st} };
		$n->safe_psql($db, "SELECT pgtrickle.resume_stream_table('$st')")
		  if $st eq 'small_orders';
		$n->safe_psql($db, "SELECT pgtrickle.refresh_stream_table('$st')");
		is(stream_table_differs($n, $db, "SELECT $cols FROM $st", $q), '0',
			"$name: $st equals its query after the restore");
	}
	my $changed = $n->safe_psql($db, 'SELECT clock_timestamp()');
	$n->safe_psql($db, q{
		INSERT INTO orders SELECT g, g % 10, g FROM generate_series(1001, 1020) g;
		UPDATE orders SET amount = amount + 1 WHERE id % 7 = 0;
		DELETE FROM orders WHERE id BETWEEN 20 AND 25;
		UPDATE customers SET region = 'moved' WHERE id = 2;
		INSERT INTO parted VALUES (5, 7, 1), (500, 1, 2);
		UPDATE parted SET id = id + 200 WHERE id BETWEEN 90 AND 95;  -- across partitions
		UPDATE parted_hi_b SET amount = amount + 1 WHERE cust = 9;
	});
	$n->safe_psql($db, q{
		INSERT INTO "Odd.Schema x"."My ""src"" t" VALUES (42, 'new'), (1, 'one more');
	}) if grep { $_ eq $sq } @sts;
	foreach my $st (@sts)
	{
		my ($cols, $q) = @{ $query{$st} };
		$n->safe_psql($db, "SELECT pgtrickle.refresh_stream_table('$st')");
		is(stream_table_differs($n, $db, "SELECT $cols FROM $st", $q), '0',
			"$name: $st equals its query after changes");
		next if $st eq 'max_amount';    # FULL
		# the scheduler may take the changes before the call above (which
		# then finds none), or find the table locked by that call (SKIP):
		# every refresh since the changes that did work was differential
		is($n->safe_psql($db, "SELECT string_agg(DISTINCT action, ',') FROM pgtrickle.pgt_refresh_history h"
			  . " JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)"
			  . " WHERE s.pgt_relid = '$st'::regclass AND h.start_time >= '$changed'"
			  . " AND h.action NOT IN ('NO_DATA', 'SKIP')"),
			'DIFFERENTIAL', "$name: $st is refreshed differentially");
	}
	# new ids continue after the restored ones
	$n->safe_psql($db, q{
		SELECT pgtrickle.create_stream_table('after_restore', 'SELECT id FROM orders WHERE id > 1010', '1m');
	});
	is($n->safe_psql($db, q{
		SELECT pgt_id > 7 FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'after_restore'}),
		't', "$name: a new stream table gets a new id");
	# dropping one stream table drops its row only
	my $before = $n->safe_psql($db, 'SELECT count(*) FROM pgtrickle.pgt_stream_tables');
	$n->safe_psql($db, 'DROP TABLE after_restore');
	is($n->safe_psql($db, 'SELECT count(*) FROM pgtrickle.pgt_stream_tables'), $before - 1,
		"$name: DROP TABLE of one stream table removes its row only");
	is($n->safe_psql($db, q{
		SELECT string_agg(pgt_name || ': ' || issue, '; ') FROM pgtrickle.check_cdc_health()
		 WHERE NOT healthy}), '', "$name: capture is healthy");
}

my @all = ('by_region', 'big_regions', 'max_amount', $sq, 'small_orders', 'view_orders', 'parted_sum');
my $connstr = $node->connstr('src');

# plain format, restored by psql stopping at the first error
$node->command_ok([ 'pg_dump', '-d', $connstr, '-f', "$work/src.sql" ], 'pg_dump plain');
my $since = $node->safe_psql('postgres', 'SELECT now()');
$node->safe_psql('postgres', 'CREATE DATABASE r_plain');
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('r_plain'),
	'-f', "$work/src.sql" ], 'plain dump restored by psql without an error');
check($node, 'r_plain', 'plain', $since, @all);

# custom format into a new database
$node->command_ok([ 'pg_dump', '-Fc', '-d', $connstr, '-f', "$work/src.dump" ], 'pg_dump custom');
$since = $node->safe_psql('postgres', 'SELECT now()');
$node->safe_psql('postgres', 'CREATE DATABASE r_custom');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('r_custom'), "$work/src.dump" ],
	'custom dump restored');
check($node, 'r_custom', 'custom', $since, @all);

# directory format, dumped and restored with two jobs
$node->command_ok([ 'pg_dump', '-Fd', '-j', '2', '-d', $connstr, '-f', "$work/src.dir" ], 'pg_dump -j 2');
$since = $node->safe_psql('postgres', 'SELECT now()');
$node->safe_psql('postgres', 'CREATE DATABASE r_dir');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-j', '2', '-d', $node->connstr('r_dir'),
	"$work/src.dir" ], 'directory dump restored with -j 2');
check($node, 'r_dir', 'directory -j 2', $since, @all);

# the custom dump into a new cluster
$since = $other->safe_psql('postgres', 'SELECT now()');
$other->safe_psql('postgres', 'CREATE DATABASE r_cluster');
$other->command_ok([ 'pg_restore', '--exit-on-error', '-d', $other->connstr('r_cluster'), "$work/src.dump" ],
	'custom dump restored into another cluster');
check($other, 'r_cluster', 'new cluster', $since, @all);

# one schema with the extension: the stream tables of that schema come back
$node->command_ok([ 'pg_dump', '-Fc', '--schema', '"Odd.Schema x"', '--schema', 'pgtrickle',
	'--extension', 'pg_trickle', '-d', $connstr, '-f', "$work/odd.dump" ], 'pg_dump --schema');
$node->safe_psql('postgres', 'CREATE DATABASE r_schema');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('r_schema'), "$work/odd.dump" ],
	'one schema restored');
ok($node->poll_query_until('r_schema', $unarmed_sql, '0'), 'schema: every stream table is set up');
is($node->safe_psql('r_schema', 'SELECT string_agg(pgt_name, \',\') FROM pgtrickle.pgt_stream_tables'),
	'St "q" 1', 'schema: only the stream tables of that schema are restored');
is($node->safe_psql('r_schema', q{
	SELECT count(*) FROM pgtrickle.pgt_refresh_history h
	 WHERE NOT EXISTS (SELECT 1 FROM pgtrickle.pgt_stream_tables s WHERE s.pgt_id = h.pgt_id)}),
	'0', 'schema: history of the others is left out');
$node->safe_psql('r_schema', q{
	INSERT INTO "Odd.Schema x"."My ""src"" t" VALUES (5, 'x'), (99, 'y');
	DELETE FROM "Odd.Schema x"."My ""src"" t" WHERE v = 'v7';
	SELECT pgtrickle.refresh_stream_table('"Odd.Schema x"."St ""q"" 1"');
	SELECT pgtrickle.refresh_stream_table('"Odd.Schema x"."St ""q"" 1"');
});
is(stream_table_differs($node, 'r_schema', "SELECT k, c FROM $sq", $query{$sq}[1]), '0',
	'schema: the stream table equals its query');

# schema-only, then data-only with the scheduler paused meanwhile
$since = $node->safe_psql('postgres', 'SELECT now()');
$node->safe_psql('postgres', 'CREATE DATABASE r_split');
$node->command_ok([ 'pg_restore', '--exit-on-error', '--schema-only', '-d', $node->connstr('r_split'),
	"$work/src.dump" ], 'schema-only restore');
$node->safe_psql('postgres', 'ALTER SYSTEM SET pg_trickle.enabled = off; SELECT pg_reload_conf()');
$node->command_ok([ 'pg_restore', '--exit-on-error', '--data-only', '-d', $node->connstr('r_split'),
	"$work/src.dump" ], 'data-only restore');
is($node->safe_psql('r_split', q{
	SELECT count(*) FROM pgtrickle.check_cdc_health()
	 WHERE issue LIKE 'restored and not set up yet%' AND alert = 'warning'}),
	'7', 'check_cdc_health reports the restored stream tables until they are set up');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET pg_trickle.enabled; SELECT pg_reload_conf()');
check($node, 'r_split', 'schema-only + data-only', $since, @all);

# the scheduler never failed on its own (a restarting scheduler logs this)
my $log = slurp_file($node->logfile) . slurp_file($other->logfile);
unlike($log, qr/pg_trickle scheduler.*exited with exit code|duplicate key/,
	'no scheduler exited and no id collided');

done_testing();
