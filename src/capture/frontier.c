/*-------------------------------------------------------------------------
 *
 * frontier.c
 *	  Snapshot frontiers: which buffer rows a refresh consumes, recording
 *	  what it consumed, and pruning what every consumer has consumed.
 *
 * A buffer row is consumed by the frontier (F, F_xid, F_seq) of a stream
 * table when it was written by the transaction of that refresh before the
 * refresh (__pgt_xid = F_xid and __pgt_seq <= F_seq), or by another
 * transaction that had committed at snapshot F (pg_visible_in_snapshot).
 * A refresh at snapshot S consumes the rows it sees at S that its frontier
 * has not consumed.  The own-transaction case is decided by the sequence
 * alone: in a pg_snapshot a transaction's own xid can look running (it is
 * at or above xmax when it is the newest), so visibility cannot decide it.
 *
 * A NULL frontier (new consumer, or capture restarted) has consumed
 * nothing: the consumer's next refresh is a full one, and until then it
 * holds back pruning of its sources.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/transam.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "utils/snapmgr.h"
#include "access/xact.h"
#include "storage/lmgr.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "optimizer/plancat.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/xid8.h"

#include "capture/capture.h"
#include "catalog/pgt_catalog.h"
#include "guc.h"


/* The captured sources of a stream table, by OID. */
List *
CaptureSources(int64 pgt_id)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(pgt_id)};
	List	   *sources = NIL;
	MemoryContext outer = CurrentMemoryContext;

	SPI_connect();
	/* a lookup by key: its plan is the same for every key, kept (generic) */
	CatalogRun("SELECT source_relid FROM pgtrickle.pgt_dependencies"
			   " WHERE pgt_id = $1 AND source_type IN ('TABLE', 'STREAM_TABLE')"
			   " ORDER BY source_relid",
			   1, argtypes, values, NULL, false);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc,
														   1, &isnull));
		MemoryContext spi = MemoryContextSwitchTo(outer);

		sources = lappend_oid(sources, relid);
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	return sources;
}

/*
 * A WITH item "alias AS MATERIALIZED (...)": the one row of the frontier of
 * (pgt_id, source).  Materialized, so that it is read once per statement:
 * as a plain subquery joined to a buffer, the planner may read the catalog
 * again for every buffer row.
 */
char *
CaptureFrontierCte(int64 pgt_id, Oid source_relid, const char *alias)
{
	return psprintf("%s AS MATERIALIZED (SELECT d.frontier, d.frontier_xid, d.frontier_seq"
					"   FROM pgtrickle.pgt_dependencies d"
					"  WHERE d.pgt_id OPERATOR(pg_catalog.=) '" INT64_FORMAT "'::pg_catalog.int8"
					"    AND d.source_relid OPERATOR(pg_catalog.=) '%u'::pg_catalog.oid)",
					alias, pgt_id, source_relid);
}

/* Whether buffer row b is pending for frontier f, as SQL. */
char *
CapturePendingCondition(const char *b, const char *f)
{
	return psprintf("CASE WHEN %s.__pgt_xid OPERATOR(pg_catalog.=) %s.frontier_xid"
					" THEN %s.__pgt_seq OPERATOR(pg_catalog.>) %s.frontier_seq"
					" ELSE NOT pg_catalog.pg_visible_in_snapshot(%s.__pgt_xid, %s.frontier) END",
					b, f, b, f, b, f);
}

/*
 * Runs with the refresh's snapshot as the active one, so
 * pg_current_snapshot() is that snapshot.
 */
void
CaptureAdvanceFrontiers(int64 pgt_id, Snapshot snapshot)
{
	static const char *sql =
		"UPDATE pgtrickle.pgt_dependencies d"
		"   SET frontier = CASE WHEN s.refresh_mode = 'DIFFERENTIAL'"
		"                       THEN pg_catalog.pg_current_snapshot() END,"
		"       frontier_xid = CASE WHEN s.refresh_mode = 'DIFFERENTIAL'"
		"                           THEN pg_catalog.pg_current_xact_id() END,"
		"       frontier_seq = CASE WHEN s.refresh_mode = 'DIFFERENTIAL'"
		"                           THEN pg_catalog.nextval('" CAPTURE_SCHEMA "." CAPTURE_SEQUENCE "'::pg_catalog.regclass) END,"
		"       frontier_lost_at = NULL"
		"  FROM pgtrickle.pgt_stream_tables s"
		" WHERE s.pgt_id = d.pgt_id AND d.pgt_id = $1"
		"   AND d.source_type IN ('TABLE', 'STREAM_TABLE')";
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(pgt_id)};
	CatalogAccess acc;
	int			rc;

	SPI_connect();
	/* an update by key: one kept generic plan serves every stream table */
	CatalogBeginAccess(&acc, NULL);
	rc = SPI_execute_snapshot(CatalogPrepare(sql, 1, argtypes, false), values,
							  NULL, snapshot, InvalidSnapshot, false, true, 0);
	CatalogEndAccess(&acc);
	if (rc < 0)
		elog(ERROR, "pg_trickle statement failed (%s): %s",
			 SPI_result_code_string(rc), sql);
	SPI_finish();
}

/*
 * Run a prune: a plan kept across refreshes (its shape does not depend on
 * how many rows are pending), as the catalog owner.
 */
static void
prune_buffer(const char *sql, Oid source_relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(source_relid)};

	CatalogRun(sql, 1, argtypes, values, NULL, false);
}

/* Whether a buffer holds more than pg_trickle.max_buffer_rows rows. */
static bool
buffer_over_limit(Oid buffer_relid)
{
	bool		isnull;
	int64		n;

	/* counts at most limit + 1 rows: cheap when the buffer is in bounds */
	CatalogRun(psprintf("SELECT pg_catalog.count(*) FROM (SELECT 1 FROM %s LIMIT %d) b",
						quote_qualified_identifier(CAPTURE_SCHEMA,
												   get_rel_name(buffer_relid)),
						pgt_max_buffer_rows == PG_INT32_MAX ? PG_INT32_MAX : pgt_max_buffer_rows + 1),
			   0, NULL, NULL, NULL, false);
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
									1, &isnull));
	return n > pgt_max_buffer_rows;
}

/*
 * pg_trickle.max_buffer_rows: after a prune of a source's buffer (by the
 * refresh of pgt_id), while the buffer still holds more rows than the
 * limit, release the consumer that holds it back the most (no frontier
 * yet, or the oldest horizon): its frontier moves to the present, as if it had consumed
 * everything, and frontier_lost_at records that it did not, so that its
 * next refresh recomputes (FULL) instead of missing the discarded changes;
 * then prune again.  As PostgreSQL does with a replication slot past
 * max_slot_wal_keep_size: the consumer pays, writers never wait or fail.
 *
 * A consumer whose storage table cannot be locked at once (a refresh or a
 * change of it is running) is left alone this time: such a refresh would
 * record its own frontier over ours.  The lock is kept to commit.
 */
static void
enforce_buffer_limit(int64 pgt_id, Oid source_relid, Oid buffer_relid,
					 const char *prune_sql)
{
	List	   *skipped = NIL;

	while (buffer_over_limit(buffer_relid))
	{
		Oid			argtypes[2] = {OIDOID, INT8OID};
		Datum		values[2] = {ObjectIdGetDatum(source_relid), Int64GetDatum(pgt_id)};
		int64		victim = 0;
		Oid			victim_relid = InvalidOid;
		char	   *victim_name = NULL;

		CatalogRun("SELECT d.pgt_id, s.pgt_relid,"
				   "       pg_catalog.format('%I.%I', s.pgt_schema, s.pgt_name)"
				   "  FROM pgtrickle.pgt_dependencies d"
				   "  JOIN pgtrickle.pgt_stream_tables s ON s.pgt_id = d.pgt_id"
				   " WHERE d.source_relid = $1 AND d.pgt_id <> $2"
				   "   AND s.refresh_mode = 'DIFFERENTIAL'"
				   "   AND d.source_type IN ('TABLE', 'STREAM_TABLE')"
				   " ORDER BY LEAST(pg_catalog.pg_snapshot_xmin(d.frontier), d.frontier_xid)"
				   "          NULLS FIRST, d.pgt_id",
				   2, argtypes, values, NULL, false);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
														 SPI_tuptable->tupdesc, 1, &isnull));
			Oid			relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
															   SPI_tuptable->tupdesc, 2, &isnull));

			if (list_member_oid(skipped, relid))
				continue;
			if (!ConditionalLockRelationOid(relid, ExclusiveLock))
			{
				skipped = lappend_oid(skipped, relid);
				continue;
			}
			victim = id;
			victim_relid = relid;
			victim_name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);
			break;
		}
		if (!OidIsValid(victim_relid))
			break;				/* nobody else to release: the next prune tries */

		values[1] = Int64GetDatum(victim);
		CatalogRun("UPDATE pgtrickle.pgt_dependencies"
				   "   SET frontier = pg_catalog.pg_current_snapshot(),"
				   "       frontier_xid = pg_catalog.pg_current_xact_id(),"
				   "       frontier_seq = pg_catalog.nextval('" CAPTURE_SCHEMA "." CAPTURE_SEQUENCE "'::pg_catalog.regclass),"
				   "       frontier_lost_at = pg_catalog.now()"
				   " WHERE source_relid = $1 AND pgt_id = $2",
				   2, argtypes, values, NULL, false);
		ereport(WARNING,
				(errmsg("stream table %s gave up its pending changes of table %s",
						victim_name, CatalogRelationName(source_relid)),
				 errdetail("The change buffer of table %s held more than pg_trickle.max_buffer_rows (%d) rows.",
						   CatalogRelationName(source_relid), pgt_max_buffer_rows),
				 errhint("Its next refresh recomputes it (FULL).  Refresh or drop stream tables that stay paused or failing, or raise pg_trickle.max_buffer_rows.")));
		prune_buffer(prune_sql, source_relid);
	}
}

/*
 * Whether a buffer has no row that a statement starting now would see.  The
 * prune's DELETE would find nothing to delete then: rows committed after
 * this look are pending for the refresh just made (its snapshot is older),
 * so not prunable by it.  Read with a heap scan that stops at the first
 * visible row: after most refreshes every consumer has consumed every row
 * of most buffers (sources that did not change; all of them when nothing
 * was pending), and the DELETE statement, its consumer lock and, with
 * pg_trickle.max_buffer_rows, the count after it cost more than the refresh
 * of a small change itself.
 */
static bool
buffer_is_empty(Oid buffer_relid)
{
	Relation	rel;
	Snapshot	snapshot;
	TableScanDesc scan;
	TupleTableSlot *slot;
	bool		empty;

	/*
	 * Never wait here: whoever holds a stronger lock on the buffer (a
	 * consumer being attached changes its columns) also keeps the prune
	 * from taking the consumer lock, so the prune skips as before.
	 */
	if (!ConditionalLockRelationOid(buffer_relid, AccessShareLock))
		return false;
	/* dropped meanwhile (its last consumer went): nothing to prune */
	rel = try_table_open(buffer_relid, NoLock);
	if (rel == NULL)
		return true;
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = table_beginscan(rel, snapshot, 0, NULL);
	slot = table_slot_create(rel, NULL);
	empty = !table_scan_getnextslot(scan, ForwardScanDirection, slot);

	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, NoLock);
	return empty;
}

/*
 * Whether another DIFFERENTIAL reader of source has consumed none of the
 * rows this refresh read, the oldest of which was written by oldest (an
 * xid8): its frontier does not see that writer (the snapshot's xmax is
 * not above it) nor is it that writer's own refresh, or it has no frontier
 * at all.  Then the prune can delete nothing this refresh consumed, and
 * what older rows all readers consumed (left by a prune skipped for a
 * lock) goes with the next prune that is not skipped: the one after the
 * refresh of the reader that consumes these rows last, or any after a
 * refresh that read nothing of the source.
 */
static bool
other_reader_needs_all(int64 pgt_id, Oid source_relid, uint64 oldest)
{
	Oid			argtypes[3] = {OIDOID, INT8OID, XID8OID};
	Datum		values[3] = {ObjectIdGetDatum(source_relid), Int64GetDatum(pgt_id),
		FullTransactionIdGetDatum(FullTransactionIdFromU64(oldest))};
	bool		isnull;
	bool		needs;

	SPI_connect();
	CatalogRun("SELECT EXISTS (SELECT 1 FROM pgtrickle.pgt_dependencies d"
			   "  JOIN pgtrickle.pgt_stream_tables s ON s.pgt_id = d.pgt_id"
			   " WHERE d.source_relid = $1 AND d.pgt_id <> $2"
			   "   AND s.refresh_mode = 'DIFFERENTIAL'"
			   "   AND d.source_type IN ('TABLE', 'STREAM_TABLE')"
			   "   AND (d.frontier IS NULL"
			   "        OR (pg_catalog.pg_snapshot_xmax(d.frontier) OPERATOR(pg_catalog.<=) $3"
			   "            AND d.frontier_xid OPERATOR(pg_catalog.<) $3)))",
			   3, argtypes, values, NULL, false);
	needs = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
									   1, &isnull));
	SPI_finish();
	return needs;
}

/*
 * Prune one source's buffer after a refresh of pgt_id (0: no refresh, the
 * scheduler's periodic pass), and enforce pg_trickle.max_buffer_rows.
 */
static void
prune_source(int64 pgt_id, Oid source_relid)
{
	Oid			buffer_relid = CaptureBufferRelid(source_relid);
	uint64		oldest = pgt_id != 0 ? CaptureReadOldest(pgt_id, source_relid) : 0;
	char	   *sql;

	/* nothing to delete: no statement, no lock (the common case) */
	if (!OidIsValid(buffer_relid) || buffer_is_empty(buffer_relid))
		return;

	/*
	 * Nothing this refresh consumed is consumed by all yet: the DELETE
	 * would scan the whole buffer to delete nothing new (with several
	 * readers of a source, every refresh but the last reader's).  The
	 * limit on buffers needs the prune's count, so it keeps it.
	 */
	if (oldest != 0 && pgt_max_buffer_rows <= 0 &&
		other_reader_needs_all(pgt_id, source_relid, oldest))
		return;
	/* another prune, or a consumer being added: prune next time */
	if (!CaptureLockConsumers(source_relid, AccessExclusiveLock, false))
		return;
	SPI_connect();
	/*
	 * Rows below every consumer's horizon are consumed by all, with one
	 * comparison: older than its snapshot's xmin and than its own
	 * transaction (a snapshot leaves its own xid out of xmin, and that
	 * transaction's rows after the refresh are pending).  Rows at or
	 * beyond the oldest snapshot's xmax are pending for that consumer,
	 * also decided by comparison, unless they are a refresh's own.
	 * Only the few in between (in flight when a snapshot was taken) are
	 * tested against each consumer's frontier.
	 */
	sql = psprintf("WITH c AS ("
						  "   SELECT d.frontier, d.frontier_xid, d.frontier_seq"
						  "     FROM pgtrickle.pgt_dependencies d"
						  "     JOIN pgtrickle.pgt_stream_tables s ON s.pgt_id = d.pgt_id"
						  "    WHERE d.source_relid = $1"
						  "      AND s.refresh_mode = 'DIFFERENTIAL'"
						  "      AND d.source_type IN ('TABLE', 'STREAM_TABLE')),"
						  " h AS ("
						  "   SELECT pg_catalog.min(LEAST(pg_catalog.pg_snapshot_xmin(c.frontier), c.frontier_xid)) AS horizon,"
						  "          pg_catalog.min(pg_catalog.pg_snapshot_xmax(c.frontier)) AS newest,"
						  "          pg_catalog.array_agg(c.frontier_xid) AS own"
						  "     FROM c HAVING NOT pg_catalog.bool_or(c.frontier IS NULL))"
						  " DELETE FROM %s __pgt_b USING h"
						  " WHERE __pgt_b.__pgt_xid OPERATOR(pg_catalog.<) h.horizon"
						  "    OR ((__pgt_b.__pgt_xid OPERATOR(pg_catalog.<) h.newest"
						  "         OR __pgt_b.__pgt_xid OPERATOR(pg_catalog.=) ANY (h.own))"
						  "        AND NOT EXISTS (SELECT 1 FROM c WHERE %s))",
						  quote_qualified_identifier(CAPTURE_SCHEMA,
													 get_rel_name(buffer_relid)),
						  CapturePendingCondition("__pgt_b", "c"));
	prune_buffer(sql, source_relid);
	if (pgt_max_buffer_rows > 0)
		enforce_buffer_limit(pgt_id, source_relid, buffer_relid, sql);
	SPI_finish();
}

/*
 * The DELETE must see every consumer that committed before it took the
 * consumer lock: a transaction snapshot may be older than that, so pruning
 * happens only in READ COMMITTED (the next such refresh catches up).
 */
void
CapturePrune(int64 pgt_id)
{
	ListCell   *lc;

	if (IsolationUsesXactSnapshot())
		return;
	foreach(lc, CaptureSources(pgt_id))
		prune_source(pgt_id, lfirst_oid(lc));
}

/*
 * The scheduler's periodic pass while pg_trickle.max_buffer_rows is set:
 * every buffer is pruned and held to the limit, also when no reader of it
 * refreshes any more (all of them paused or failing), which the prune
 * after a refresh cannot see.  Run by the scheduler in a transaction of its
 * own, READ COMMITTED.
 */
void
CaptureEnforceBufferLimits(void)
{
	ListCell   *lc;

	foreach(lc, CaptureCapturedSources())
	{
		CHECK_FOR_INTERRUPTS();
		prune_source(0, lfirst_oid(lc));
	}
}
