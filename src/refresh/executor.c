/*-------------------------------------------------------------------------
 *
 * executor.c
 *	  Running one refresh: snapshot, owner's sandbox, apply, history.
 *
 * The caller holds ExclusiveLock on the storage table (readers go on, a
 * second refresh of the same table waits).  One snapshot is taken after the
 * lock and every statement of the refresh runs under it, also in READ
 * COMMITTED, so that a change committing meanwhile is seen by all of the
 * refresh or by none of it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "storage/lmgr.h"
#include "access/transam.h"
#include "utils/timestamp.h"

#include "capture/capture.h"
#include "refresh/refresh.h"

/* Output column names of a defining view, in order. */
List *
RefreshStorageColumns(Oid view_relid)
{
	Relation	rel = table_open(view_relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	List	   *cols = NIL;

	for (int i = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped)
			cols = lappend(cols, pstrdup(NameStr(TupleDescAttr(desc, i)->attname)));
	table_close(rel, AccessShareLock);
	return cols;
}

/*
 * The snapshot a refresh reads at: taken now, seeing this transaction's
 * own work.  The caller unregisters it.  Call RefreshLockSources first.
 */
Snapshot
RefreshTakeSnapshot(void)
{
	CommandCounterIncrement();
	return RegisterSnapshot(GetTransactionSnapshot());
}

/*
 * Lock the sources before the snapshot is taken.  TRUNCATE (and other
 * rewrites) are not MVCC-safe: a refresh whose snapshot predates a TRUNCATE
 * it then waits for would read the new, emptied relation with an old
 * snapshot and compute a state that never existed.
 */
void
RefreshLockSources(const StreamTable *st)
{
	ListCell   *lc;

	foreach(lc, CatalogSourceRelids(st->pgt_id))
		LockRelationOid(lfirst_oid(lc), AccessShareLock);
}

static const char *
initiator_name(RefreshInitiator who)
{
	switch (who)
	{
		case REFRESH_SCHEDULER:
			return "SCHEDULER";
		case REFRESH_INITIAL:
			return "INITIAL";
		case REFRESH_MANUAL:
		case REFRESH_REINITIALIZE:
		case REFRESH_MODE_SWITCH:
			break;
	}
	return "MANUAL";
}

/* Apply with the write guard lifted for this table only, whatever happens. */
static void
apply_guarded(const StreamTable *st, RefreshInitiator who, Snapshot snapshot,
			  RefreshOutcome *o)
{
	GuardAllowWrites(st->relid);
	PG_TRY();
	{
		if (strcmp(st->refresh_mode, "DIFFERENTIAL") == 0)
			DifferentialRefresh(st, who, snapshot, o);
		else
			FullRefreshApply(st, snapshot, &o->rows_inserted, &o->rows_deleted);
	}
	PG_FINALLY();
	{
		CaptureForgetChanges();
		GuardForbidWrites();
	}
	PG_END_TRY();
}

/*
 * In REPEATABLE READ and SERIALIZABLE a refresh reads at the transaction's
 * snapshot, taken before the refresh got its lock.  If another refresh of
 * this table committed after that snapshot, this one would start from a
 * state it cannot see: refuse, as PostgreSQL does for concurrent updates.
 */
static void
check_snapshot_not_stale(const StreamTable *st, Snapshot snapshot)
{
	TransactionId writer = CatalogLatestWriter(st->pgt_id);

	if (TransactionIdIsNormal(writer) &&
		!TransactionIdIsCurrentTransactionId(writer) &&
		XidInMVCCSnapshot(writer, snapshot))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to concurrent refresh of stream table %s",
						CatalogRelationName(st->relid)),
				 errhint("Retry the transaction, or refresh in READ COMMITTED.")));
}

/*
 * Refresh one stream table.  snapshot may be given by a caller that reads at
 * the same snapshot afterwards (verify_stream_table); NULL takes one.
 */
void
RefreshExecute(const StreamTable *st, RefreshInitiator who, Snapshot snapshot)
{
	bool		own_snapshot = (snapshot == NULL);
	RefreshOutcome o = {0};
	Sandbox		sb;

	if (own_snapshot)
	{
		RefreshLockSources(st);
		snapshot = RefreshTakeSnapshot();
	}
	o.data_timestamp = o.start_time = GetCurrentTimestamp();
	if (IsolationUsesXactSnapshot())
	{
		/* the snapshot is the transaction's: as old as its first statement */
		check_snapshot_not_stale(st, snapshot);
		o.data_timestamp = GetCurrentTransactionStartTimestamp();
	}

	SPI_connect();
	SandboxEnter(&sb, st->relid);
	/* before anything is read, also when nothing is pending */
	SandboxCheckPrivileges(st->query_relid);
	apply_guarded(st, who, snapshot, &o);
	SandboxLeave(&sb);
	SPI_finish();

	o.initiated_by = initiator_name(who);
	if (o.action == NULL)
	{
		o.action = who == REFRESH_REINITIALIZE || who == REFRESH_MODE_SWITCH ?
			"REINITIALIZE" : "FULL";
		o.delta_row_count = o.rows_inserted + o.rows_deleted;
		if (who == REFRESH_INITIAL)
			o.reason = "initial population";
		else if (who == REFRESH_REINITIALIZE)
			o.reason = "defining query changed";
		else if (st->fallback_reason != NULL)
			o.reason = psprintf("AUTO fell back to FULL: %s", st->fallback_reason);
		else
			o.reason = "configured FULL";
	}
	if (strcmp(st->refresh_mode, "DIFFERENTIAL") == 0)
	{
		/* consumed: everything visible at this refresh's snapshot */
		CaptureAdvanceFrontiers(st->pgt_id, snapshot);

		/*
		 * Pruning is upkeep, not part of the refresh: at a transaction
		 * snapshot it could meet rows another refresh already pruned, or miss
		 * a consumer that committed since, so it waits for a READ COMMITTED
		 * refresh.
		 */
		if (!IsolationUsesXactSnapshot())
			CapturePrune(st->pgt_id);
	}
	o.end_time = GetCurrentTimestamp();
	CatalogRecordRefresh(st, &o);

	if (own_snapshot)
		UnregisterSnapshot(snapshot);
}

/*
 * Check, as a refresh would, that the owner may run the defining query,
 * without reading anything (initialize => false).
 */
void
RefreshProbe(const StreamTable *st)
{
	Sandbox		sb;

	SPI_connect();
	SandboxEnter(&sb, st->relid);
	if (SPI_execute(psprintf("SELECT * FROM (\n%s\n) q LIMIT 0",
							 DependViewQuery(st->query_relid)), true, 0) < 0)
		elog(ERROR, "could not check the defining query");
	SandboxLeave(&sb);
	SPI_finish();
}
