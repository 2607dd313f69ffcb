/*-------------------------------------------------------------------------
 *
 * idle.c
 *	  Scheduled rounds of stream tables with nothing to refresh.
 *
 * Most scheduled refreshes of a DIFFERENTIAL stream table find no pending
 * change (NO_DATA).  Running each as a refresh costs a worker hand-over, a
 * committed RUNNING history row and a write transaction per table.  Instead
 * the scheduler decides for all due DIFFERENTIAL tables of a round at once:
 *
 *	 1. it locks their storage tables without waiting (ExclusiveLock, as a
 *		refresh does): a table some other session refreshes or alters right
 *		now is left to the ordinary path;
 *	 2. it takes a snapshot and reads, in one statement over the change
 *		buffers, which of them have a pending change (or no frontier, or a
 *		TRUNCATE marker pending) — exactly what a refresh at that snapshot
 *		would consume — or must be left to a refresh for other reasons:
 *		row-level security enabled on a source (the refresh may have to
 *		recompute), or an owner without SELECT on a source (the refresh
 *		fails with 42501);
 *	 3. a table with nothing pending, none of whose upstream stream tables
 *		is refreshed in this round (due and not idle itself, or being
 *		refreshed), is idle: its contents equal its query at the snapshot.
 *		One UPDATE moves data_timestamp and last_refresh_at of all idle
 *		tables to the time taken just before the snapshot, never backwards.
 *
 * That is the freshness a NO_DATA refresh proves, without a refresh: no
 * history row, no frontier move (the frontier still marks what was
 * consumed; nothing after it is pending), no pruning (an idle table holds
 * back no buffer row).  The other due tables go on to the refresh workers.
 * At most IDLE_BATCH tables are locked in one transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "capture/capture.h"
#include "catalog/pgt_catalog.h"
#include "scheduler/worker.h"

#define IDLE_BATCH 64

static ArrayType *
id_array(const int64 *ids, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = Int64GetDatum(ids[i]);
	return construct_array(elems, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

static bool
in_ids(int64 id, const int64 *ids, int n)
{
	for (int i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/*
 * Of the candidates, those with something pending: a captured source with
 * no frontier, with no buffer, or with a buffer row the frontier has not
 * consumed (a TRUNCATE marker included), or an unlogged relation without
 * its mark (src/refresh/unlogged.c: crash recovery may have emptied it).  The statement names each buffer,
 * so its text depends on the set of sources; the same set from round to
 * round keeps one plan.
 */
static int
pending_tables(const int64 *ids, int n, int64 *pending)
{
	Oid			argtypes[1] = {INT8ARRAYOID};
	Datum		values[1] = {PointerGetDatum(id_array(ids, n))};
	StringInfoData sql;
	List	   *sources = NIL;
	ListCell   *lc;
	int			n_pending = 0;

	CatalogRun("SELECT DISTINCT source_relid FROM pgtrickle.pgt_dependencies"
			   " WHERE pgt_id OPERATOR(pg_catalog.=) ANY ($1)"
			   "   AND source_type IN ('TABLE', 'STREAM_TABLE')"
			   " ORDER BY source_relid",
			   1, argtypes, values, NULL, true);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		sources = lappend_oid(sources,
							  DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
															 SPI_tuptable->tupdesc,
															 1, &isnull)));
	}

	/* no captured source at all: nothing can be pending (a refresh: NO_DATA) */
	if (sources == NIL)
		return 0;

	initStringInfo(&sql);
	appendStringInfoString(&sql,
						   "SELECT DISTINCT d.pgt_id FROM pgtrickle.pgt_dependencies d"
						   " WHERE d.pgt_id OPERATOR(pg_catalog.=) ANY ($1)"
						   "   AND d.source_type IN ('TABLE', 'STREAM_TABLE')"
						   "   AND (d.frontier IS NULL"
	/* pending changes given up (pg_trickle.max_buffer_rows): it recomputes */
						   "        OR d.frontier_lost_at IS NOT NULL"
	/*
	 * a refresh decides, not the idle round: where row-level security is
	 * enabled on a source or made the table recompute (src/refresh/README.md),
	 * or where the owner may have lost SELECT (a refresh checks it exactly)
	 */
						   "        OR EXISTS (SELECT FROM pg_catalog.pg_class c,"
						   "                           pgtrickle.pgt_stream_tables s,"
						   "                           pg_catalog.pg_class t"
						   "                    WHERE c.oid OPERATOR(pg_catalog.=) d.source_relid"
						   "                      AND s.pgt_id OPERATOR(pg_catalog.=) d.pgt_id"
						   "                      AND t.oid OPERATOR(pg_catalog.=) s.pgt_relid"
						   "                      AND (c.relrowsecurity OR s.fallback_reason IS NOT NULL"
						   "                           OR NOT pg_catalog.has_table_privilege(t.relowner,"
						   "                                      c.oid, 'SELECT')))"
						   "        OR CASE d.source_relid"
						   " WHEN 0::pg_catalog.oid THEN true");
	foreach(lc, sources)
	{
		Oid			source = lfirst_oid(lc);
		Oid			buffer = CaptureBufferRelid(source);

		if (!OidIsValid(buffer))
			continue;			/* the ELSE branch: a refresh reports it */
		appendStringInfo(&sql,
						 " WHEN '%u'::pg_catalog.oid THEN EXISTS (SELECT FROM %s b"
						 " WHERE CASE WHEN b.__pgt_xid OPERATOR(pg_catalog.=) d.frontier_xid"
						 " THEN b.__pgt_seq OPERATOR(pg_catalog.>) d.frontier_seq"
						 " ELSE NOT pg_catalog.pg_visible_in_snapshot(b.__pgt_xid, d.frontier) END)",
						 source,
						 quote_qualified_identifier(CAPTURE_SCHEMA, get_rel_name(buffer)));
	}
	appendStringInfoString(&sql, " ELSE true END)");
	/* an unlogged relation possibly emptied by recovery (refresh/unlogged.c) */
	appendStringInfoString(&sql,
						   " UNION SELECT s.pgt_id FROM pgtrickle.pgt_stream_tables s"
						   " WHERE s.pgt_id OPERATOR(pg_catalog.=) ANY ($1)"
						   "   AND NOT EXISTS (SELECT FROM pgtrickle.pgt_unlogged_marks m"
						   "                    WHERE m.pgt_id OPERATOR(pg_catalog.=) s.pgt_id)"
						   "   AND EXISTS (SELECT FROM pg_catalog.pg_class c"
						   "                WHERE c.relpersistence OPERATOR(pg_catalog.=) 'u'"
						   "                  AND (c.oid OPERATOR(pg_catalog.=) s.pgt_relid"
						   "                       OR c.oid IN (SELECT d2.source_relid"
						   "                                      FROM pgtrickle.pgt_dependencies d2"
						   "                                     WHERE d2.pgt_id OPERATOR(pg_catalog.=) s.pgt_id)))");

	CatalogRun(sql.data, 1, argtypes, values, NULL, true);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		pending[n_pending++] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc,
														   1, &isnull));
	}
	return n_pending;
}

/*
 * Whether a due table is refreshed in this round: due, not decided idle,
 * or being refreshed by a worker.
 */
static bool
refreshed_this_round(int64 id, List *due, const int64 *busy, int n_busy)
{
	ListCell   *lc;

	if (in_ids(id, busy, n_busy))
		return true;
	foreach(lc, due)
	{
		DueTable   *t = lfirst(lc);

		if (t->pgt_id == id)
			return !t->idle;
	}
	return false;
}

/* One batch: lock, look, advance.  Marks the idle tables dispatched. */
static void
idle_batch(List *due, DueTable **batch, int n, const int64 *busy, int n_busy)
{
	int64	   *ids = palloc(sizeof(int64) * n);
	int64	   *pending = palloc(sizeof(int64) * n);
	int			n_ids = 0;
	int			n_pending;
	TimestampTz at;
	bool		changed;
	Oid			argtypes[2] = {INT8ARRAYOID, TIMESTAMPTZOID};
	Datum		values[2];

	/* a table held by another session is left to the ordinary path */
	for (int i = 0; i < n; i++)
	{
		batch[i]->idle = false;
		if (ConditionalLockRelationOid(batch[i]->relid, ExclusiveLock))
			ids[n_ids++] = batch[i]->pgt_id;
	}
	if (n_ids == 0)
		return;

	/* no later than the snapshot: the contents are known equal from here */
	at = GetCurrentTimestamp();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	n_pending = pending_tables(ids, n_ids, pending);
	for (int i = 0; i < n; i++)
		batch[i]->idle = in_ids(batch[i]->pgt_id, ids, n_ids) &&
			!in_ids(batch[i]->pgt_id, pending, n_pending);

	/* not idle when a stream table it reads changes in this round */
	do
	{
		changed = false;
		for (int i = 0; i < n; i++)
		{
			DueTable   *t = batch[i];

			for (int j = 0; t->idle && j < t->n_upstream; j++)
				if (refreshed_this_round(t->upstream[j], due, busy, n_busy))
				{
					t->idle = false;
					changed = true;
				}
		}
	} while (changed);

	n_ids = 0;
	for (int i = 0; i < n; i++)
		if (batch[i]->idle)
			ids[n_ids++] = batch[i]->pgt_id;
	if (n_ids > 0)
	{
		values[0] = PointerGetDatum(id_array(ids, n_ids));
		values[1] = TimestampTzGetDatum(at);
		CatalogRun("UPDATE pgtrickle.pgt_stream_tables"
				   "   SET data_timestamp = $2, last_refresh_at = $2"
				   " WHERE pgt_id OPERATOR(pg_catalog.=) ANY ($1)"
				   "   AND status = 'ACTIVE' AND is_populated"
				   "   AND refresh_mode = 'DIFFERENTIAL' AND consecutive_errors = 0"
				   "   AND data_timestamp OPERATOR(pg_catalog.<) $2"
				   " RETURNING pgt_id",
				   2, argtypes, values, NULL, false);
		n_ids = 0;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;

			ids[n_ids++] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
													   SPI_tuptable->tupdesc,
													   1, &isnull));
		}
	}
	SPI_finish();
	PopActiveSnapshot();

	/* what the UPDATE did not touch (changed meanwhile) is refreshed */
	for (int i = 0; i < n; i++)
	{
		batch[i]->idle = batch[i]->idle && in_ids(batch[i]->pgt_id, ids, n_ids);
		if (batch[i]->idle)
			batch[i]->dispatched = true;
	}
}

static int
run_batch(List *due, DueTable **batch, int n, const int64 *busy, int n_busy)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			n_idle = 0;

	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		idle_batch(due, batch, n, busy, n_busy);
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		for (int i = 0; i < n; i++)
		{
			batch[i]->idle = false;
			batch[i]->dispatched = false;
		}
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	for (int i = 0; i < n; i++)
		if (batch[i]->idle)
			n_idle++;
	return n_idle;
}

/*
 * Take the idle tables out of a round's due list (they are marked
 * dispatched).  Each batch is one transaction; an error is logged and
 * leaves the batch to the ordinary path.  Returns how many were idle.
 */
int
SchedulerConfirmIdle(List *due)
{
	int64		busy[PGT_MAX_REFRESH_WORKERS];
	int			n_busy = RefresherBusy(busy, PGT_MAX_REFRESH_WORKERS);
	DueTable   *batch[IDLE_BATCH];
	int			n = 0;
	int			n_idle = 0;
	ListCell   *lc;

	/*
	 * Not idle until its batch decides: a reader whose upstream is decided
	 * in a later batch counts the upstream as refreshed in this round.
	 */
	foreach(lc, due)
		((DueTable *) lfirst(lc))->idle = false;

	foreach(lc, due)
	{
		DueTable   *t = lfirst(lc);

		if (!t->candidate || t->dispatched || in_ids(t->pgt_id, busy, n_busy))
			continue;
		batch[n++] = t;
		if (n == IDLE_BATCH)
		{
			n_idle += run_batch(due, batch, n, busy, n_busy);
			n = 0;
		}
	}
	if (n > 0)
		n_idle += run_batch(due, batch, n, busy, n_busy);
	return n_idle;
}
