/*-------------------------------------------------------------------------
 *
 * launcher.c
 *	  The launcher: one scheduler per database that has pg_trickle.
 *
 * The launcher (backend_type "pg_trickle launcher") is registered when the
 * library is in shared_preload_libraries and starts only once recovery has
 * finished, so nothing runs on a standby until it is promoted.  It cannot
 * see which databases have the extension without connecting, so at start
 * it tries every connectable database once; a scheduler that finds no
 * extension marks its slot and exits, and is started again only when
 * CREATE EXTENSION in that database wakes the launcher.  A scheduler runs
 * only while its database has work: one with nothing to do soon exits
 * ("sleeps") and leaves in its slot when to start it again; new work
 * (a stream table created, resumed, rescheduled; pg_trickle.enabled turned
 * on) wakes the launcher at commit.  A scheduler that dies is started
 * again at the next round.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "scheduler/worker.h"

PGDLLEXPORT void pgt_launcher_main(Datum main_arg);
PGDLLEXPORT void pgt_scheduler_main(Datum main_arg);

PG_FUNCTION_INFO_V1(pgt_wake_launcher);
PG_FUNCTION_INFO_V1(pgt_scheduler_running);

#define LAUNCHER_NAP_MS 10000
/* after a failed start (no free worker slot), wait this long */
#define LAUNCHER_RETRY_MS 1000

/*
 * The common part of every pg_trickle worker: connected to a database,
 * started once recovery has finished, not restarted by the postmaster.
 */
void
WorkerDefine(BackgroundWorker *worker, const char *function, const char *type)
{
	memset(worker, 0, sizeof(BackgroundWorker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker->bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker->bgw_library_name, BGW_MAXLEN, "pg_trickle");
	snprintf(worker->bgw_function_name, BGW_MAXLEN, "%s", function);
	snprintf(worker->bgw_name, BGW_MAXLEN, "%s", type);
	snprintf(worker->bgw_type, BGW_MAXLEN, "%s", type);
}

void
LauncherRegister(void)
{
	BackgroundWorker worker;

	WorkerDefine(&worker, "pgt_launcher_main", "pg_trickle launcher");
	worker.bgw_restart_time = 10;
	RegisterBackgroundWorker(&worker);
}

/* Connectable, non-template databases. */
static List *
list_databases(void)
{
	List	   *result = NIL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	MemoryContext outer = CurrentMemoryContext;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (db->datallowconn && !db->datistemplate)
		{
			MemoryContext old = MemoryContextSwitchTo(outer);

			result = lappend_oid(result, db->oid);
			MemoryContextSwitchTo(old);
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return result;
}

static bool
start_scheduler(Oid dboid, bool woken, bool complain)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	WorkerDefine(&worker, "pgt_scheduler_main", "pg_trickle scheduler");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_trickle scheduler for database %u", dboid);
	worker.bgw_main_arg = ObjectIdGetDatum(dboid);
	/* woken by CREATE EXTENSION: give the extension time to show up */
	worker.bgw_extra[0] = woken ? 1 : 0;
	worker.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		if (complain)
			ereport(LOG,
				(errmsg("pg_trickle launcher could not start a scheduler for database %u", dboid),
				 errhint("Raise max_worker_processes.")));
		return false;
	}
	return true;
}

/*
 * Start schedulers where one should run and none does: at the first round
 * in every database (to find those with the extension); then where new work
 * woke the launcher, where a sleeping scheduler's wake-up time has come, and
 * where a scheduler ended otherwise than by going to sleep (it died, or was
 * terminated).  With pg_trickle.enabled = off nothing is started.  Returns
 * the earliest wake-up time of a sleeping scheduler (0: none).
 */
static TimestampTz
launch_round(bool first)
{
	List	   *dbs = list_databases();
	ListCell   *lc;
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz next_wake = 0;

	SpinLockAcquire(&PgtShared->mutex);
	/* slots of databases that are gone (dropped) are free again */
	for (int i = 0; i < PGT_MAX_DATABASES; i++)
	{
		PgtDatabaseSlot *slot = &PgtShared->slots[i];

		if (OidIsValid(slot->dboid) && slot->pid == 0 &&
			!list_member_oid(dbs, slot->dboid))
			memset(slot, 0, sizeof(PgtDatabaseSlot));
	}
	SpinLockRelease(&PgtShared->mutex);

	foreach(lc, dbs)
	{
		Oid			dboid = lfirst_oid(lc);
		PgtDatabaseSlot *slot;
		bool		start = false;
		bool		woken = false;
		bool		failed_before = false;

		SpinLockAcquire(&PgtShared->mutex);
		slot = SchedulerSlot(dboid, true);
		if (slot != NULL && slot->pid == 0 && pgt_enabled &&
			slot->hold_until <= now &&
			(!slot->start_failed || slot->retry_at <= now))
		{
			woken = slot->woken;
			start = first || woken ||
				(!slot->no_extension && !slot->sleeping) ||
				(slot->sleeping && slot->wake_at != 0 && slot->wake_at <= now);
		}
		if (start)
		{
			failed_before = slot->start_failed;
			slot->no_extension = false;
			slot->sleeping = false;
			slot->disabled = false;
			slot->woken = false;
			/* claimed until the scheduler replaces it with its own pid */
			slot->pid = -1;
			slot->claimed_at = now;
		}
		else if (slot != NULL && slot->pid == -1 &&
				 TimestampDifferenceExceeds(slot->claimed_at, now, 6 * LAUNCHER_NAP_MS))
		{
			slot->pid = 0;		/* a start that never came up: retry */
			slot->start_failed = true;
		}
		if (slot != NULL && slot->pid == 0 && slot->sleeping && slot->wake_at != 0 &&
			(next_wake == 0 || slot->wake_at < next_wake))
			next_wake = slot->wake_at;
		if (slot != NULL && slot->pid == 0 && slot->start_failed &&
			(next_wake == 0 || slot->retry_at < next_wake))
			next_wake = slot->retry_at;
		SpinLockRelease(&PgtShared->mutex);

		if (start && !start_scheduler(dboid, woken, !failed_before))
		{
			/* no free background worker slot: try again in a while */
			SpinLockAcquire(&PgtShared->mutex);
			if (slot->dboid == dboid && slot->pid == -1)
			{
				slot->pid = 0;
				slot->woken = woken;
				slot->start_failed = true;
				slot->retry_at = TimestampTzPlusMilliseconds(now, LAUNCHER_RETRY_MS);
			}
			SpinLockRelease(&PgtShared->mutex);
			if (next_wake == 0 ||
				TimestampTzPlusMilliseconds(now, LAUNCHER_RETRY_MS) < next_wake)
				next_wake = TimestampTzPlusMilliseconds(now, LAUNCHER_RETRY_MS);
		}
	}
	list_free(dbs);
	return next_wake;
}

/*
 * pg_trickle.enabled was turned on: start the schedulers that went to sleep
 * because it was off (the others slept for want of work, and new work wakes
 * them anyway).
 */
static void
wake_all(void)
{
	SpinLockAcquire(&PgtShared->mutex);
	for (int i = 0; i < PGT_MAX_DATABASES; i++)
	{
		PgtDatabaseSlot *slot = &PgtShared->slots[i];

		if (OidIsValid(slot->dboid) && slot->sleeping && slot->disabled)
			slot->woken = true;
	}
	SpinLockRelease(&PgtShared->mutex);
}

static void
launcher_gone(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	SpinLockAcquire(&PgtShared->mutex);
	if (PgtShared->launcher_pid == MyProcPid)
	{
		PgtShared->launcher_latch = NULL;
		PgtShared->launcher_pid = 0;
	}
	SpinLockRelease(&PgtShared->mutex);
}

void
pgt_launcher_main(Datum main_arg pg_attribute_unused())
{
	bool		first = true;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	SpinLockAcquire(&PgtShared->mutex);
	PgtShared->launcher_latch = MyLatch;
	PgtShared->launcher_pid = MyProcPid;
	SpinLockRelease(&PgtShared->mutex);
	before_shmem_exit(launcher_gone, (Datum) 0);

	for (;;)
	{
		TimestampTz next_wake;
		long		nap = LAUNCHER_NAP_MS;

		CHECK_FOR_INTERRUPTS();
		if (ShutdownRequestPending)
			break;
		if (ConfigReloadPending)
		{
			bool		was_enabled = pgt_enabled;

			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			if (pgt_enabled && !was_enabled)
				wake_all();
		}
		next_wake = launch_round(first);
		/* the first round that could start anything found the databases */
		if (pgt_enabled)
			first = false;
		if (next_wake != 0)
		{
			TimestampTz now = GetCurrentTimestamp();

			nap = next_wake <= now ? 0 :
				Min(nap, (long) ((next_wake - now + 999) / 1000));
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 nap, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	proc_exit(0);
}

/* Caller holds the mutex. */
static void
wake_database(Oid dboid)
{
	PgtDatabaseSlot *slot = SchedulerSlot(dboid, true);

	if (slot != NULL)
		slot->woken = true;
	if (PgtShared->launcher_latch)
		SetLatch(PgtShared->launcher_latch);
}

/*
 * Called at the end of CREATE EXTENSION: have a scheduler started in this
 * database now.  Nothing to do when the library is not preloaded.
 */
Datum
pgt_wake_launcher(PG_FUNCTION_ARGS)
{
	if (PgtShared == NULL)
		PG_RETURN_BOOL(false);
	SpinLockAcquire(&PgtShared->mutex);
	wake_database(MyDatabaseId);
	SpinLockRelease(&PgtShared->mutex);
	/* and again once the transaction is visible */
	LauncherWakeAtCommit();
	PG_RETURN_BOOL(true);
}

static bool wake_at_commit = false;
static bool wake_callback_registered = false;

static void
wake_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PREPARE:
			if (wake_at_commit && PgtShared != NULL)
			{
				SpinLockAcquire(&PgtShared->mutex);
				wake_database(MyDatabaseId);
				SpinLockRelease(&PgtShared->mutex);
			}
			wake_at_commit = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			wake_at_commit = false;
			break;
		default:
			break;
	}
}

/*
 * There may be new work for the scheduler of this database (a stream table
 * created, resumed, or given a shorter schedule): when this transaction
 * commits, have the launcher start the scheduler if it sleeps.  Waking at
 * commit, not now, means the scheduler sees the work when it starts.
 */
void
LauncherWakeAtCommit(void)
{
	if (PgtShared == NULL || !IsUnderPostmaster)
		return;
	if (!wake_callback_registered)
	{
		RegisterXactCallback(wake_xact_callback, NULL);
		wake_callback_registered = true;
	}
	wake_at_commit = true;
}

/*
 * Whether this database is served (quick_health.scheduler_running): the
 * launcher runs and has not failed to start a scheduler here.  A scheduler
 * runs only while the database has work, so whether one runs right now
 * says nothing; the launcher starts one when work comes.  Read from shared
 * memory so that every role sees the same answer; false when the library
 * is not preloaded, and on a standby (no launcher runs there).
 */
Datum
pgt_scheduler_running(PG_FUNCTION_ARGS)
{
	PgtDatabaseSlot *slot;
	bool		served = false;

	if (PgtShared == NULL)
		PG_RETURN_BOOL(false);
	SpinLockAcquire(&PgtShared->mutex);
	slot = SchedulerSlot(MyDatabaseId, false);
	if (PgtShared->launcher_pid != 0 && slot != NULL)
		served = slot->pid > 0 || !slot->start_failed;
	SpinLockRelease(&PgtShared->mutex);
	PG_RETURN_BOOL(served);
}

/*
 * Keep the scheduler of a database away for a while and stop the one that
 * runs, and its refresh workers, so that DROP DATABASE, ALTER DATABASE ... RENAME and CREATE
 * DATABASE ... TEMPLATE, which need it free of connections, go through.
 */
void
LauncherHoldDatabase(Oid dboid)
{
	pid_t		pid = 0;

	if (PgtShared == NULL || !OidIsValid(dboid))
		return;
	for (int i = 0; i < 100; i++)
	{
		PgtDatabaseSlot *slot;

		SpinLockAcquire(&PgtShared->mutex);
		slot = SchedulerSlot(dboid, false);
		if (slot != NULL)
		{
			slot->hold_until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 15000);
			if (slot->pid == -1)
				slot->pid = 0;	/* a scheduler on its way finds no claim */
			pid = slot->pid;
		}
		SpinLockRelease(&PgtShared->mutex);
		if (pid <= 0)
			break;
		if (i == 0)
			(void) kill(pid, SIGTERM);
		pg_usleep(50000);
	}
	/* and its refresh workers, even those in the middle of a refresh */
	RefresherStopAll(dboid, 0, true);
}
