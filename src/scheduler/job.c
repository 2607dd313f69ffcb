/*-------------------------------------------------------------------------
 *
 * job.c
 *	  One scheduled refresh: announce it, run it, record how it ended.
 *
 * Runs in a refresh worker (or in the scheduler itself when no worker can
 * be started).  Each step is its own transaction: the RUNNING history row
 * is committed first so that a crash leaves a trace, the refresh is one
 * transaction so that a crash leaves no partial state, and a failure is
 * recorded in a new transaction after the refresh rolled back.  A failure
 * is classified: an error the query itself causes (data, syntax,
 * privileges) sets ERROR at once; others count towards SUSPENDED and are
 * retried with back-off (the due query reads the back-off from
 * consecutive_errors and last_error_at, so it survives restarts).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "catalog/pgt_catalog.h"
#include "guc.h"
#include "refresh/refresh.h"
#include "scheduler/worker.h"

/*
 * Whether an error can heal by retrying: conflicts, timeouts, resources,
 * cancellations.  Data, syntax, privilege and feature errors, and program
 * limits (statement too complex, stack depth), come from the query and its
 * data and will come again.
 */
static bool
error_is_transient(int sqlerrcode)
{
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_TRANSACTION_ROLLBACK:	/* serialization, deadlock */
		case ERRCODE_INSUFFICIENT_RESOURCES:
		case ERRCODE_OPERATOR_INTERVENTION: /* canceled, admin shutdown */
		case ERRCODE_CONNECTION_EXCEPTION:
		case ERRCODE_SYSTEM_ERROR:
			return true;
		default:
			break;
	}
	return sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ||
		sqlerrcode == ERRCODE_OBJECT_IN_USE;
}

static void
begin_step(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
}

static void
end_step(void)
{
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/* Record a failed refresh; errors here are logged, never thrown. */
static void
record_failure(int64 pgt_id, const char *name, TimestampTz started, ErrorData *edata)
{
	PG_TRY();
	{
		begin_step();
		(void) CatalogRecordFailure(pgt_id, started, edata->message,
									error_is_transient(edata->sqlerrcode),
									pgt_max_consecutive_errors);
		end_step();
		ereport(LOG,
				(errmsg("pg_trickle: refresh of %s failed: %s",
						name ? name : psprintf("stream table " INT64_FORMAT, pgt_id),
						edata->message)));
	}
	PG_CATCH();
	{
		/* not even the failure could be written: log and go on */
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();
}

/*
 * Refresh one stream table if it is still ACTIVE (or INITIALIZING) and no
 * other session holds it.
 */
void
RefreshJob(int64 pgt_id)
{
	MemoryContext cxt = CurrentMemoryContext;
	ErrorData  *volatile edata = NULL;
	TimestampTz started = GetCurrentTimestamp();
	char	   *volatile name = NULL;
	volatile bool busy = false;
	volatile bool ran = false;
	int64		refresh_id;

	/* announced first, in its own transaction: a crash leaves a trace */
	begin_step();
	refresh_id = CatalogStartRunning(pgt_id);
	end_step();
	CatalogSetRunning(refresh_id);

	PG_TRY();
	{
		StreamTable *st;

		begin_step();
		st = CatalogGetById(pgt_id);
		if (st != NULL && !ConditionalLockRelationOid(st->relid, ExclusiveLock))
			busy = true;
		else if (st != NULL)
		{
			/* re-read under the lock: a concurrent alter or drop wins */
			st = CatalogGetById(pgt_id);
			if (st != NULL && (strcmp(st->status, "ACTIVE") == 0 ||
							   strcmp(st->status, "INITIALIZING") == 0))
			{
				name = MemoryContextStrdup(cxt, CatalogRelationName(st->relid));
				pgstat_report_activity(STATE_RUNNING,
									   psprintf("pg_trickle: refreshing %s", name));
				RefreshExecute(st, REFRESH_SCHEDULER, NULL);
				ran = true;
			}
		}
		end_step();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);

	if (edata == NULL && ran)
	{
		/* the refresh completed its announcement in its own transaction */
		CatalogSetRunning(0);
		return;
	}
	if (edata == NULL)
	{
		CatalogSetRunning(0);
		/* a busy table says so; the announcement of one no longer due goes */
		begin_step();
		CatalogEndRunning(refresh_id, busy);
		end_step();
		return;
	}

	record_failure(pgt_id, name, started, edata);
	CatalogSetRunning(0);
	FreeErrorData(edata);
}
