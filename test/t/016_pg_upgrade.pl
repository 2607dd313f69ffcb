# pg_upgrade to this PostgreSQL (16-18; the matrix runs it on 18) from each
# older version the test script built pg_trickle for (the wheels' 15 and
# 17) of a cluster
# with stream tables and changes captured but not yet refreshed: after the
# upgrade nothing is lost, the next refreshes are DIFFERENTIAL and exact,
# capture goes on (every captured column, not NULLs), what pg_upgrade does
# not carry over is recorded again, and health is clean.
# The commands are those of docs/operating.md, "Upgrading PostgreSQL".
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgtTap;

plan skip_all => "no older PostgreSQL to upgrade from: $ENV{PGT_UPGRADE_SKIP}"
  if !$ENV{PGT_UPGRADE_OLD_PGS};

foreach my $old_pg (split ' ', $ENV{PGT_UPGRADE_OLD_PGS})
{
	upgrade_from($old_pg);
}
done_testing();

# upgrade_from(INSTALL_PATH): the whole scenario from one old version.
sub upgrade_from
{
	my ($old_pg) = @_;
	my $v = `$old_pg/bin/pg_config --version`;
	($v) = $v =~ /(\d+)/;
	note "pg_upgrade from PostgreSQL $v";
	my $old = PostgreSQL::Test::Cluster->new("old$v", install_path => $old_pg);
	$old->init;
	$old->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_trickle'\npg_trickle.enabled = off\n");
	$old->start;
	$old->safe_psql('postgres', q{
		CREATE EXTENSION pg_trickle;
		CREATE SCHEMA "Sales Dept";
		CREATE TABLE "Sales Dept".orders (id int PRIMARY KEY, customer int, amount numeric, note text);
		CREATE TABLE customers (id int PRIMARY KEY, region text);
		INSERT INTO customers VALUES (1, 'north'), (2, 'south'), (3, 'east');
		INSERT INTO "Sales Dept".orders SELECT g, g % 3 + 1, g * 10, 'n' || g FROM generate_series(1, 30) g;
		SELECT pgtrickle.create_stream_table('"Sales Dept"."Region Totals"',
			'SELECT c.region, sum(o.amount) AS total, count(*) AS n
			   FROM "Sales Dept".orders o JOIN customers c ON c.id = o.customer GROUP BY c.region',
			'1m', 'DIFFERENTIAL');
		SELECT pgtrickle.create_stream_table('big_regions',
			'SELECT region, total FROM "Sales Dept"."Region Totals" WHERE total > 1000', '1m', 'DIFFERENTIAL');
		SELECT pgtrickle.create_stream_table('notes', 'SELECT id, note FROM "Sales Dept".orders WHERE id > 25',
			'1m', 'DIFFERENTIAL');
		SELECT pgtrickle.create_stream_table('order_count', 'SELECT count(*) AS n FROM "Sales Dept".orders',
			'1m', 'FULL');
		SELECT pgtrickle.pause_stream_table('notes');
		-- captured, not refreshed: they must survive the upgrade
		INSERT INTO "Sales Dept".orders VALUES (31, 1, 5000, 'big');
		UPDATE "Sales Dept".orders SET amount = amount + 1, note = 'changed' WHERE id % 5 = 0;
		DELETE FROM "Sales Dept".orders WHERE id = 3;
		UPDATE customers SET region = 'west' WHERE id = 3;
	});
	$old->stop;

	my $new = PostgreSQL::Test::Cluster->new("new$v");
	# the old cluster has no data checksums; 18's initdb turns them on by default
	$new->init(extra => [ '--no-data-checksums' ]);
	# the scheduler on, as in production: pg_upgrade's own servers of it must
	# not start refreshing while the schema is restored
	$new->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_trickle'\npg_trickle.enabled = on\n");

	my $work = PostgreSQL::Test::Utils::tempdir;
	chdir $work;    # pg_upgrade writes its logs here
	command_ok(
		[
			'pg_upgrade', '--no-sync',
			'-b', $old->config_data('--bindir'), '-B', $new->config_data('--bindir'),
			'-d', $old->data_dir, '-D', $new->data_dir,
			'-p', $old->port, '-P', $new->port,
			'-s', $new->host
		],
		"pg_upgrade from $v");
	$new->start;

	my @sts = ('"Sales Dept"."Region Totals"', 'big_regions', 'notes', 'order_count');
	$new->safe_psql('postgres', q{SELECT pgtrickle.resume_stream_table('notes')});
	foreach my $st (@sts)
	{
		$new->safe_psql('postgres', "SELECT pgtrickle.refresh_stream_table('$st')");
	}
	is($new->safe_psql('postgres', q{
		SELECT string_agg(s.pgt_name || '=' || h.action, ',' ORDER BY s.pgt_name)
		  FROM pgtrickle.pgt_stream_tables s
		  JOIN LATERAL (SELECT action FROM pgtrickle.pgt_refresh_history x
		                 WHERE x.pgt_id = s.pgt_id ORDER BY refresh_id DESC LIMIT 1) h ON true}),
		'Region Totals=DIFFERENTIAL,big_regions=DIFFERENTIAL,notes=DIFFERENTIAL,order_count=FULL',
		"from $v: the changes captured before the upgrade are applied differentially");
	# the oracle: each stream table equals its defining query (PgtTap)
	my $totals_q = 'SELECT c.region, sum(o.amount) AS total, count(*) AS n
	   FROM "Sales Dept".orders o JOIN customers c ON c.id = o.customer GROUP BY c.region';
	my %query = (
		'"Sales Dept"."Region Totals"' => ['region, total, n', $totals_q],
		big_regions => ['region, total', "SELECT region, total FROM ($totals_q) t WHERE total > 1000"],
		notes => ['id, note', 'SELECT id, note FROM "Sales Dept".orders WHERE id > 25'],
		order_count => ['n', 'SELECT count(*) AS n FROM "Sales Dept".orders']);
	my $differs = sub
	{
		my ($st) = @_;
		my ($cols, $q) = @{ $query{$st} };
		return stream_table_differs($new, 'postgres', "SELECT $cols FROM $st", $q);
	};
	foreach my $st (@sts)
	{
		is($differs->($st), '0', "from $v: $st equals its query after the upgrade");
	}

	# what pg_upgrade does not carry over is recorded again (catalog/restore.c)
	is($new->safe_psql('postgres', q{
		SELECT count(*) FROM pg_class b JOIN pg_attribute a ON a.attrelid = b.oid
		 WHERE b.relnamespace = 'pgtrickle_changes'::regnamespace AND b.relkind = 'r'
		   AND a.attnum > 0 AND NOT a.attisdropped AND a.attname NOT LIKE '\_\_pgt\_%'
		   AND NOT EXISTS (SELECT 1 FROM pg_depend d
		                    WHERE d.classid = 'pg_class'::regclass AND d.objid = b.oid
		                      AND d.objsubid = a.attnum AND d.deptype = 'a')}),
		'0', "from $v: each buffer column depends on its source column again");
	is($new->safe_psql('postgres', q{
		SELECT count(*) FROM pg_trigger t
		 WHERE t.tgname LIKE 'pgt\_capture\_%' AND NOT EXISTS (
		       SELECT 1 FROM pg_depend d
		        WHERE d.classid = 'pg_trigger'::regclass AND d.objid = t.oid AND d.deptype = 'i')}),
		'0', "from $v: each capture trigger is an internal part of its buffer again");
	my ($rc, $out, $err) = $new->psql('postgres', 'DROP VIEW pgtrickle_defs.st_1');
	like($err, qr/cannot drop view pgtrickle_defs\.st_1 because table .* requires it/,
		"from $v: a defining view is an internal part of its stream table again");

	# capture after the upgrade: every column the queries read is captured
	$new->safe_psql('postgres', q{
		INSERT INTO "Sales Dept".orders VALUES (32, 2, 7000, 'after');
		UPDATE "Sales Dept".orders SET note = 'again', amount = amount * 2 WHERE id IN (27, 28);
		DELETE FROM "Sales Dept".orders WHERE id = 26;
	});
	foreach my $st (@sts)
	{
		$new->safe_psql('postgres', "SELECT pgtrickle.refresh_stream_table('$st')");
		is($differs->($st), '0', "from $v: $st equals its query after changes made on the new server");
	}
	is($new->safe_psql('postgres', q{
		SELECT string_agg(pgt_name || ': ' || issue, '; ') FROM pgtrickle.check_cdc_health() WHERE NOT healthy}),
		'', "from $v: capture is healthy after the upgrade");

	$new->stop;
}
