/*-------------------------------------------------------------------------
 *
 * scheduler.c
 *	  The scheduler of one database: refresh what is due, upstream first.
 *
 * Every pg_trickle.scheduler_interval_ms it reads which ACTIVE or
 * INITIALIZING stream tables are due — by duration, cron (next fire after
 * the last refresh), or CALCULATED (the effective interval) — ordered so
 * that a stream table comes after the stream tables it reads, and refreshes
 * each in its own transaction.  A table another session is refreshing is
 * left for the next round.  A failure is recorded (FAILED history row,
 * error counters) and classified: an error the query itself causes (data,
 * syntax, privileges) sets ERROR at once; others retry with back-off and
 * set SUSPENDED after pg_trickle.max_consecutive_errors.  No error leaves
 * the loop.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "catalog/catalog.h"
#include "guc.h"
#include "refresh/refresh.h"
#include "scheduler/worker.h"

PGDLLEXPORT void pgt_scheduler_main(Datum main_arg);

/* retry state of failing tables, this process only */
typedef struct RetryState
{
	int64		pgt_id;
	TimestampTz not_before;
} RetryState;

static List *retries = NIL;

static bool
extension_present(void)
{
	bool		present;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	present = OidIsValid(get_extension_oid("pg_trickle", true)) && CatalogExists();
	CommitTransactionCommand();
	return present;
}

static bool
retry_allowed(int64 pgt_id, TimestampTz now)
{
	ListCell   *lc;

	foreach(lc, retries)
	{
		RetryState *r = lfirst(lc);

		if (r->pgt_id == pgt_id)
			return r->not_before <= now;
	}
	return true;
}

static void
set_retry(int64 pgt_id, int errors)
{
	ListCell   *lc;
	RetryState *r = NULL;
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	int			delay_ms = pgt_scheduler_interval_ms << Min(errors, 10);

	foreach(lc, retries)
		if (((RetryState *) lfirst(lc))->pgt_id == pgt_id)
			r = lfirst(lc);
	if (r == NULL)
	{
		r = palloc(sizeof(RetryState));
		r->pgt_id = pgt_id;
		retries = lappend(retries, r);
	}
	r->not_before = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), Min(delay_ms, 300000));
	MemoryContextSwitchTo(old);
}

static void
clear_retry(int64 pgt_id)
{
	ListCell   *lc;

	foreach(lc, retries)
	{
		if (((RetryState *) lfirst(lc))->pgt_id == pgt_id)
		{
			retries = foreach_delete_current(retries, lc);
			return;
		}
	}
}

/*
 * Whether an error can heal by retrying: conflicts, timeouts, resources,
 * cancellations.  Data, syntax, privilege and feature errors come from the
 * query and its data and will come again.
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
		case ERRCODE_PROGRAM_LIMIT_EXCEEDED:
			return true;
		default:
			break;
	}
	return sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ||
		sqlerrcode == ERRCODE_OBJECT_IN_USE;
}

/* Due stream tables, upstream first. */
static List *
due_tables(void)
{
	MemoryContext outer = CurrentMemoryContext;
	List	   *due = NIL;

	SPI_connect();
	if (SPI_execute("WITH RECURSIVE depth(pgt_id, d) AS ("
					"   SELECT s.pgt_id, 0 FROM pgtrickle.pgt_stream_tables s"
					" UNION ALL"
					"   SELECT r.pgt_id, dp.d + 1"
					"     FROM depth dp"
					"     JOIN pgtrickle.pgt_stream_tables u ON u.pgt_id = dp.pgt_id"
					"     JOIN pgtrickle.pgt_dependencies r ON r.source_relid = u.pgt_relid"
					"    WHERE dp.d < 64)"
					" SELECT s.pgt_id"
					"   FROM pgtrickle.pgt_stream_tables s"
					"   JOIN (SELECT pgt_id, max(d) AS d FROM depth GROUP BY pgt_id) o USING (pgt_id)"
					"  CROSS JOIN LATERAL pgtrickle._effective_schedule(s.pgt_id) e"
					"  WHERE s.status IN ('ACTIVE', 'INITIALIZING')"
					"    AND (s.last_refresh_at IS NULL"
					"         OR CASE WHEN s.schedule IS NOT NULL"
					"                      AND pg_catalog.strpos(s.schedule, ' ') + pg_catalog.strpos(s.schedule, '@') > 0"
					"                 THEN pgtrickle._schedule_next_fire(s.schedule, s.last_refresh_at)"
					"                 ELSE s.last_refresh_at + pg_catalog.make_interval(secs => e.effective_seconds)"
					"            END <= pg_catalog.now())"
					"  ORDER BY o.d, s.pgt_id",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read due stream tables");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
													 SPI_tuptable->tupdesc, 1, &isnull));
		MemoryContext spi = MemoryContextSwitchTo(outer);
		int64	   *p = palloc(sizeof(int64));

		*p = id;
		due = lappend(due, p);
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	return due;
}

/*
 * Refresh one stream table in its own transaction; record a failure in a
 * new one.
 */
static void
refresh_one(int64 pgt_id)
{
	MemoryContext cxt = CurrentMemoryContext;
	ErrorData  *volatile edata = NULL;
	TimestampTz started = GetCurrentTimestamp();
	char	   *volatile name = NULL;
	int64		refresh_id;

	/* announced first, in its own transaction: a crash leaves a trace */
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	refresh_id = CatalogStartRunning(pgt_id);
	PopActiveSnapshot();
	CommitTransactionCommand();
	CatalogSetRunning(refresh_id);

	PG_TRY();
	{
		StreamTable *st;

		SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		st = CatalogGetById(pgt_id);
		if (st != NULL && ConditionalLockRelationOid(st->relid, ExclusiveLock))
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
			}
		}
		PopActiveSnapshot();
		CommitTransactionCommand();
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

	if (edata == NULL)
	{
		CatalogSetRunning(0);
		clear_retry(pgt_id);
		/* skipped (table busy or no longer due): the announcement goes */
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		CatalogForgetRunning(refresh_id);
		PopActiveSnapshot();
		CommitTransactionCommand();
		return;
	}

	/* a failure: record it, and decide between retry, SUSPENDED and ERROR */
	PG_TRY();
	{
		bool		transient = error_is_transient(edata->sqlerrcode);
		int			errors;

		SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		errors = CatalogRecordFailure(pgt_id, started, edata->message, transient,
									  pgt_max_consecutive_errors);
		PopActiveSnapshot();
		CommitTransactionCommand();
		set_retry(pgt_id, errors);
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
	CatalogSetRunning(0);
	FreeErrorData(edata);
}

static void
run_round(MemoryContext round)
{
	List	   *due;
	ListCell   *lc;
	TimestampTz now = GetCurrentTimestamp();

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	/* the list must outlive the transaction that read it */
	MemoryContextSwitchTo(round);
	due = due_tables();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(round);

	foreach(lc, due)
	{
		int64		pgt_id = *(int64 *) lfirst(lc);

		CHECK_FOR_INTERRUPTS();
		if (ShutdownRequestPending || !pgt_enabled)
			break;
		if (retry_allowed(pgt_id, now))
			refresh_one(pgt_id);
	}
}

static void
release_slot(bool no_extension)
{
	PgtDatabaseSlot *slot;

	SpinLockAcquire(&PgtShared->mutex);
	slot = SchedulerSlot(MyDatabaseId, false);
	if (slot != NULL && slot->pid == MyProcPid)
	{
		slot->pid = 0;
		slot->no_extension = no_extension;
	}
	SpinLockRelease(&PgtShared->mutex);
}

static void
on_exit_release(int code pg_attribute_unused(), Datum arg)
{
	release_slot(DatumGetBool(arg));
}

void
pgt_scheduler_main(Datum main_arg)
{
	Oid			dboid = DatumGetObjectId(main_arg);
	MemoryContext round;
	TimestampTz last_upkeep = 0;
	PgtDatabaseSlot *slot;
	bool		held;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);

	SpinLockAcquire(&PgtShared->mutex);
	slot = SchedulerSlot(dboid, true);
	/* only a start the launcher claimed, and no hold put on it since */
	held = (slot == NULL || slot->pid != -1);
	if (slot != NULL && !held)
		slot->pid = MyProcPid;
	SpinLockRelease(&PgtShared->mutex);
	if (held)
		proc_exit(0);
	before_shmem_exit(on_exit_release, BoolGetDatum(false));

	/* started by CREATE EXTENSION: give its transaction time to commit */
	for (int i = 0; !extension_present(); i++)
	{
		if (MyBgworkerEntry->bgw_extra[0] == 0 || i >= 100 || ShutdownRequestPending)
		{
			cancel_before_shmem_exit(on_exit_release, BoolGetDatum(false));
			release_slot(true);
			proc_exit(0);
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 100, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	CatalogFailInterrupted();
	round = AllocSetContextCreate(TopMemoryContext, "pg_trickle scheduler round",
								  ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (ShutdownRequestPending)
			break;
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (!extension_present())
		{
			/* DROP EXTENSION: nothing to do here any more */
			cancel_before_shmem_exit(on_exit_release, BoolGetDatum(false));
			release_slot(true);
			proc_exit(0);
		}
		MemoryContextReset(round);
		MemoryContextSwitchTo(round);
		if (pgt_enabled && !RecoveryInProgress())
			run_round(round);
		MemoryContextSwitchTo(TopMemoryContext);

		/* hourly upkeep: refresh history past its retention */
		if (TimestampDifferenceExceeds(last_upkeep, GetCurrentTimestamp(), 3600 * 1000))
		{
			CatalogUpkeep();
			last_upkeep = GetCurrentTimestamp();
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 pgt_scheduler_interval_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	proc_exit(0);
}
