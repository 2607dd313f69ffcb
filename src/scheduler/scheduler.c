/*-------------------------------------------------------------------------
 *
 * scheduler.c
 *	  The scheduler of one database: refresh what is due, upstream first,
 *	  several at once where the dependency graph allows.
 *
 * Every pg_trickle.scheduler_interval_ms it reads which ACTIVE or
 * INITIALIZING stream tables are due — by duration, cron (next fire after
 * the last refresh), or CALCULATED (the effective interval), and not in
 * the back-off of a recent failure — with the stream tables each reads.
 * It hands them to refresh workers (refresher.c), up to
 * pg_trickle.max_concurrent_refreshes at once, a table only when none of
 * the stream tables it reads is still due or being refreshed: upstream
 * first.  A worker that finishes sets the scheduler's latch, which then
 * hands out what became ready.  Due DIFFERENTIAL tables with nothing
 * pending are confirmed fresh all at once instead (idle.c).  How a refresh
 * runs and how a failure is classified is in job.c.  No error leaves the
 * loop.  With nothing due within a minute, the scheduler exits and the
 * launcher starts it again in time (or when woken by new work).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "catalog/pg_extension.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "capture/capture.h"
#include "catalog/pgt_catalog.h"
#include "guc.h"
#include "scheduler/worker.h"

PGDLLEXPORT void pgt_scheduler_main(Datum main_arg);

/*
 * A scheduler with nothing due sooner than this exits and has the launcher
 * start it again in time (its refresh workers would have left by then).
 */
#define SLEEP_AFTER_MS 60000
/*
 * ... but at least this often: the hourly upkeep, and a safety net for new
 * work that did not wake the launcher (a prepared transaction, rows
 * restored into the catalog)
 */
#define SLEEP_AT_MOST_MS (3600 * 1000)
/* the buffer pass: ten rounds, between a second and a minute */
#define BUFFER_PASS_MS Min(60 * 1000, Max(1000, 10 * pgt_scheduler_interval_ms))

/* What a round read besides the due tables. */
typedef struct RoundInfo
{
	bool		has_tables;		/* any ACTIVE or INITIALIZING stream table */
	bool		unarmed;		/* any restored row not re-armed yet */
	TimestampTz next_due;		/* earliest due time of the others, 0: none */
} RoundInfo;

/*
 * Whether this database has the extension, in the version of this library:
 * after a package upgrade the database waits for ALTER EXTENSION pg_trickle
 * UPDATE (its update script wakes the launcher), and is left alone until
 * then, with one message per scheduler start.
 */
static bool
extension_present(void)
{
	static bool told = false;
	bool		present;
	bool		matches = false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	present = OidIsValid(get_extension_oid("pg_trickle", true)) && CatalogExists();
	if (present)
		matches = CatalogVersionMatches(false);
	if (present && !matches && !told)
	{
		ereport(LOG,
				(errmsg("pg_trickle: database \"%s\" has another version of the extension than library %s: its stream tables are not refreshed",
						get_database_name(MyDatabaseId), PGT_EXTVERSION),
				 errhint("Run ALTER EXTENSION pg_trickle UPDATE in that database.")));
		told = true;
	}
	CommitTransactionCommand();
	return present && matches;
}

/*
 * Due stream tables, each with the stream tables it reads, the longest
 * overdue first (so that under load every table gets its turn; dispatch
 * keeps upstream before downstream).  A duration (or CALCULATED) table is
 * taken at the round nearest to its due time, up to half a round early:
 * otherwise a '1s' table refreshed at the start of one round would be a few
 * milliseconds short of due at the next and run only every other round.
 * Cron tables are never early (an early run would leave the fire time still
 * ahead, and it would fire twice).  A table that failed waits interval x
 * 2^errors (at most 5 minutes) after its last error.  Only CALCULATED
 * tables need the dependency walk of _effective_schedule.  info gets
 * whether there is any table to schedule and when the next one not due
 * yet is.
 */
static List *
due_tables(RoundInfo *info)
{
	MemoryContext outer = CurrentMemoryContext;
	List	   *due = NIL;
	Oid			argtypes[1] = {FLOAT8OID};
	Datum		values[1] = {Float8GetDatum(pgt_scheduler_interval_ms / 1000.0)};

	info->has_tables = false;
	info->next_due = 0;
	SPI_connect();
	if (SPI_execute_with_args("WITH RECURSIVE depth(pgt_id, d) AS ("
							  "   SELECT s.pgt_id, 0 FROM pgtrickle.pgt_stream_tables s"
							  " UNION ALL"
							  "   SELECT r.pgt_id, dp.d + 1"
							  "     FROM depth dp"
							  "     JOIN pgtrickle.pgt_stream_tables u ON u.pgt_id = dp.pgt_id"
							  "     JOIN pgtrickle.pgt_dependencies r ON r.source_relid = u.pgt_relid"
							  "    WHERE dp.d < 64)"
							  " SELECT pgt_id, upstream, pgt_relid, candidate,"
							  "        due_at <= pg_catalog.now()"
							  "          AND (retry_at IS NULL OR retry_at <= pg_catalog.now()) AS due,"
							  "        greatest(due_at, retry_at) AS next_at"
							  "  FROM ("
							  "   SELECT s.pgt_id, o.d, s.pgt_relid,"
							  "          s.status = 'ACTIVE' AND s.is_populated"
							  "            AND s.refresh_mode = 'DIFFERENTIAL'"
							  "            AND s.consecutive_errors = 0 AS candidate,"
							  "          ARRAY(SELECT u.pgt_id"
							  "                  FROM pgtrickle.pgt_dependencies r"
							  "                  JOIN pgtrickle.pgt_stream_tables u"
							  "                    ON u.pgt_relid = r.source_relid"
							  "                 WHERE r.pgt_id = s.pgt_id) AS upstream,"
							  "          CASE WHEN s.last_refresh_at IS NULL THEN s.created_at"
							  "               WHEN cron"
							  "               THEN pgtrickle._schedule_next_fire(s.schedule, s.last_refresh_at)"
							  "               ELSE s.last_refresh_at + pg_catalog.make_interval(secs =>"
							  "                      CASE WHEN s.schedule IS NULL"
							  "                           THEN (SELECT e.effective_seconds"
							  "                                   FROM pgtrickle._effective_schedule(s.pgt_id) e)"
							  "                           ELSE pgtrickle._schedule_seconds(s.schedule)"
							  "                      END)"
							  "               - CASE WHEN cron THEN interval '0'"
							  "                      ELSE pg_catalog.make_interval(secs => $1 / 2) END"
							  "          END AS due_at,"
							  "          CASE WHEN s.consecutive_errors > 0"
							  "               THEN s.last_error_at + pg_catalog.make_interval(secs =>"
							  "                      least($1 * 2 ^ least(s.consecutive_errors, 10), 300))"
							  "          END AS retry_at"
							  "     FROM pgtrickle.pgt_stream_tables s"
							  "     JOIN (SELECT pgt_id, max(d) AS d FROM depth GROUP BY pgt_id) o USING (pgt_id)"
							  "    CROSS JOIN LATERAL (SELECT s.schedule IS NOT NULL"
							  "          AND pg_catalog.strpos(s.schedule, ' ') + pg_catalog.strpos(s.schedule, '@') > 0) c(cron)"
							  "    WHERE s.status IN ('ACTIVE', 'INITIALIZING')"
	/* a restored row waits until it is re-armed (rearm_pass) */
							  "      AND " CATALOG_ARMED("s") ") t"
							  "  ORDER BY due_at, d, pgt_id",
							  1, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read due stream tables");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		Datum		arr = SPI_getbinval(tup, desc, 2, &isnull);
		bool		is_due = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull)) && !isnull;
		MemoryContext spi;
		DueTable   *t;
		Datum	   *elems;
		int			n;

		info->has_tables = true;
		if (!is_due)
		{
			Datum		next = SPI_getbinval(tup, desc, 6, &isnull);

			/* no due time (a cron with no fire time left): never */
			if (!isnull && (info->next_due == 0 ||
							DatumGetTimestampTz(next) < info->next_due))
				info->next_due = DatumGetTimestampTz(next);
			continue;
		}
		spi = MemoryContextSwitchTo(outer);
		t = palloc0(sizeof(DueTable));
		t->pgt_id = id;
		t->relid = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
		t->candidate = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull)) && !isnull;
		deconstruct_array(DatumGetArrayTypeP(arr), INT8OID, 8, FLOAT8PASSBYVAL,
						  TYPALIGN_DOUBLE, &elems, NULL, &n);
		t->n_upstream = n;
		t->upstream = palloc(sizeof(int64) * Max(n, 1));
		for (int j = 0; j < n; j++)
			t->upstream[j] = DatumGetInt64(elems[j]);
		due = lappend(due, t);
		MemoryContextSwitchTo(spi);
	}
	if (SPI_execute("SELECT 1 FROM pgtrickle.pgt_stream_tables s"
					" WHERE NOT " CATALOG_ARMED("s") " LIMIT 1",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read stream tables");
	info->unarmed = SPI_processed > 0;
	SPI_finish();
	return due;
}

static bool
id_in(int64 id, const int64 *ids, int n)
{
	for (int i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* Whether a stream table is still due (not yet handed out) this round. */
static bool
still_due(List *due, int64 id)
{
	ListCell   *lc;

	foreach(lc, due)
	{
		DueTable   *t = lfirst(lc);

		if (t->pgt_id == id)
			return !t->dispatched;
	}
	return false;
}

/*
 * Hand out the due tables that are ready: not being refreshed, none of the
 * stream tables they read still due or being refreshed, and room for one
 * more refresh.  When no worker can be started, the scheduler refreshes the
 * table itself.
 */
static void
dispatch(List *due)
{
	int64		busy[PGT_MAX_REFRESH_WORKERS];
	int			n_busy = RefresherBusy(busy, PGT_MAX_REFRESH_WORKERS);
	ListCell   *lc;

	foreach(lc, due)
	{
		DueTable   *t = lfirst(lc);
		bool		ready = true;

		CHECK_FOR_INTERRUPTS();
		if (ShutdownRequestPending || !pgt_enabled ||
			n_busy >= pgt_max_concurrent_refreshes)
			break;
		if (t->dispatched)
			continue;
		if (id_in(t->pgt_id, busy, n_busy))
		{
			/*
			 * Still running from an earlier round, which read it as due:
			 * that refresh is this round's (its outcome, and any back-off
			 * it sets, decide the next one).
			 */
			t->dispatched = true;
			continue;
		}
		for (int i = 0; i < t->n_upstream && ready; i++)
			ready = !still_due(due, t->upstream[i]) &&
				!id_in(t->upstream[i], busy, n_busy);
		if (!ready)
			continue;

		t->dispatched = true;
		if (RefresherAssign(t->pgt_id))
			busy[n_busy++] = t->pgt_id;
		else
		{
			pgstat_report_activity(STATE_RUNNING, "pg_trickle: refreshing in the scheduler");
			RefreshJob(t->pgt_id);
			pgstat_report_activity(STATE_IDLE, NULL);
			/* its readers earlier in the list are ready now: look again */
			SetLatch(MyLatch);
		}
	}
}

/* Read the due tables into round; the list must outlive the transaction. */
static List *
read_due(MemoryContext round, RoundInfo *info)
{
	List	   *due;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	MemoryContextSwitchTo(round);
	due = due_tables(info);
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(TopMemoryContext);
	return due;
}

/*
 * Give up the slot: no_extension when the extension is not (or no longer)
 * here; sleeping with the time to be started again (0: only when woken)
 * when there is nothing to do.
 */
static void
release_slot(bool no_extension, bool sleeping, TimestampTz wake_at)
{
	PgtDatabaseSlot *slot;

	SpinLockAcquire(&PgtShared->mutex);
	slot = SchedulerSlot(MyDatabaseId, false);
	if (slot != NULL && slot->pid == MyProcPid)
	{
		slot->pid = 0;
		slot->latch = NULL;
		slot->no_extension = no_extension;
		slot->sleeping = sleeping;
		slot->disabled = sleeping && !pgt_enabled;
		slot->wake_at = wake_at;
	}
	SpinLockRelease(&PgtShared->mutex);
	/* its workers finish what they run and go */
	RefresherStopAll(MyDatabaseId, MyProcPid, false);
}

static void
on_exit_release(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	release_slot(false, false, 0);
}

static void
exit_no_extension(void)
{
	cancel_before_shmem_exit(on_exit_release, (Datum) 0);
	release_slot(true, false, 0);
	proc_exit(0);
}

/*
 * Nothing to do for a while: leave the background worker slot free and
 * have the launcher start a scheduler again at wake_at (0: when woken by
 * new work or by pg_trickle.enabled turned on).  Not when new work woke
 * the launcher since this round read the catalog: then the caller goes on.
 */
static void
try_sleep(TimestampTz wake_at)
{
	PgtDatabaseSlot *slot;
	bool		woken;

	SpinLockAcquire(&PgtShared->mutex);
	slot = SchedulerSlot(MyDatabaseId, false);
	woken = (slot == NULL || slot->woken);
	if (slot != NULL)
		slot->woken = false;
	SpinLockRelease(&PgtShared->mutex);
	if (woken)
		return;
	cancel_before_shmem_exit(on_exit_release, (Datum) 0);
	release_slot(false, true, wake_at);
	proc_exit(0);
}

/* Forget wake-ups so far: the round about to read the catalog sees their work. */
static void
clear_woken(void)
{
	PgtDatabaseSlot *slot;

	SpinLockAcquire(&PgtShared->mutex);
	slot = SchedulerSlot(MyDatabaseId, false);
	if (slot != NULL)
		slot->woken = false;
	SpinLockRelease(&PgtShared->mutex);
}

/* Whether the hourly upkeep is due in this database, and if so, claim it. */
static bool
claim_upkeep(TimestampTz now)
{
	PgtDatabaseSlot *slot;
	bool		due = false;

	SpinLockAcquire(&PgtShared->mutex);
	slot = SchedulerSlot(MyDatabaseId, false);
	if (slot != NULL && TimestampDifferenceExceeds(slot->last_upkeep, now, 3600 * 1000))
	{
		slot->last_upkeep = now;
		due = true;
	}
	SpinLockRelease(&PgtShared->mutex);
	return due;
}

/*
 * The longest a database goes without a scheduler: the hourly upkeep, and
 * while pg_trickle.max_buffer_rows is set, the buffer pass (a source whose
 * readers all stopped would otherwise grow its buffer unchecked).
 */
static long
sleep_at_most_ms(void)
{
	return pgt_max_buffer_rows > 0 ? BUFFER_PASS_MS : SLEEP_AT_MOST_MS;
}

/* The buffer pass, at most once a BUFFER_PASS_MS, in its own transaction. */
static void
buffer_pass(TimestampTz now)
{
	static TimestampTz last = 0;

	if (pgt_max_buffer_rows <= 0 ||
		(last != 0 && !TimestampDifferenceExceeds(last, now, BUFFER_PASS_MS)))
		return;
	last = now;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	CaptureEnforceBufferLimits();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/*
 * Re-arm the catalog rows a restore brought back (catalog/restore.c), in a
 * transaction of its own; a row whose restore is not finished waits for a
 * later round.
 */
static void
rearm_pass(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	(void) RestoreRearmReady();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(TopMemoryContext);
}

/*
 * When to be started again after this round found nothing due: 0 to keep
 * running (something is due soon, or a refresh runs), else the wake-up
 * time (DT_NOEND: only when woken).
 */
static TimestampTz
sleep_until(const RoundInfo *info, TimestampTz now)
{
	int64		busy[PGT_MAX_REFRESH_WORKERS];
	TimestampTz wake;

	if (RefresherBusy(busy, PGT_MAX_REFRESH_WORKERS) > 0 || info->unarmed)
		return 0;
	/* enabled turned on wakes it; new work at commit, or hourly at worst */
	if (!pgt_enabled)
		return DT_NOEND;
	if (!info->has_tables)
		return TimestampTzPlusMilliseconds(now, sleep_at_most_ms());
	if (info->next_due != 0 &&
		!TimestampDifferenceExceeds(now, info->next_due, SLEEP_AFTER_MS))
		return 0;
	/* back a round before it is due, and at least hourly (upkeep) */
	wake = TimestampTzPlusMilliseconds(now, sleep_at_most_ms());
	if (info->next_due != 0 && info->next_due < wake)
		wake = TimestampTzPlusMilliseconds(info->next_due,
										   -Max(pgt_scheduler_interval_ms, 1000));
	return wake;
}

void
pgt_scheduler_main(Datum main_arg)
{
	Oid			dboid = DatumGetObjectId(main_arg);
	MemoryContext round;
	List	   *due = NIL;
	TimestampTz next_round = 0;
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
	{
		slot->pid = MyProcPid;
		slot->latch = MyLatch;
		slot->start_failed = false;
	}
	SpinLockRelease(&PgtShared->mutex);
	if (held)
		proc_exit(0);
	before_shmem_exit(on_exit_release, (Datum) 0);
	RefresherForgetStale();

	/* started by CREATE EXTENSION: give its transaction time to commit */
	for (int i = 0; !extension_present(); i++)
	{
		if (MyBgworkerEntry->bgw_extra[0] == 0 || i >= 100 || ShutdownRequestPending)
			exit_no_extension();
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
		TimestampTz now;
		long		wait_ms;

		/* a cancel between rounds has nothing to cancel */
		QueryCancelPending = false;
		CHECK_FOR_INTERRUPTS();
		if (ShutdownRequestPending)
			break;
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		/* what workers finished; a worker that died leaves its refresh RUNNING */
		if (RefresherReap())
			CatalogFailInterrupted();

		now = GetCurrentTimestamp();
		if (now >= next_round)
		{
			RoundInfo	info = {0};
			TimestampTz wake;

			/* DROP EXTENSION: nothing to do here any more */
			if (!extension_present())
				exit_no_extension();
			clear_woken();
			MemoryContextReset(round);
			due = NIL;
			if (pgt_enabled && !RecoveryInProgress())
			{
				due = read_due(round, &info);
				if (info.unarmed)
				{
					rearm_pass();
					MemoryContextSwitchTo(round);
					/* re-armed rows may be due at once */
					due = read_due(round, &info);
				}
				MemoryContextSwitchTo(round);
				if (due != NIL)
				{
					/* due again about an interval from now */
					info.next_due = now;
					if (SchedulerConfirmIdle(due) == list_length(due))
						due = NIL;	/* all of them were idle */
				}
				MemoryContextSwitchTo(TopMemoryContext);
			}
			next_round = TimestampTzPlusMilliseconds(now, pgt_scheduler_interval_ms);

			/* hourly upkeep: refresh history past its retention */
			if (pgt_enabled && claim_upkeep(now))
				CatalogUpkeep();
			if (pgt_enabled)
				buffer_pass(now);

			/* nothing to do for a while: free the worker slot */
			if (due == NIL && (wake = sleep_until(&info, now)) != 0)
				try_sleep(wake == DT_NOEND ? 0 : wake);
		}
		if (due != NIL && pgt_enabled)
			dispatch(due);

		now = GetCurrentTimestamp();
		wait_ms = now >= next_round ? 0 :
			(long) ((next_round - now + 999) / 1000);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(wait_ms, pgt_scheduler_interval_ms), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	proc_exit(0);
}
