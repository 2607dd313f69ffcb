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
 * CREATE EXTENSION in that database wakes the launcher.  A scheduler that
 * dies is started again at the next round.
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
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "scheduler/worker.h"

PGDLLEXPORT void pgt_launcher_main(Datum main_arg);
PGDLLEXPORT void pgt_scheduler_main(Datum main_arg);

PG_FUNCTION_INFO_V1(pgt_wake_launcher);
PG_FUNCTION_INFO_V1(pgt_scheduler_running);

#define LAUNCHER_NAP_MS 10000

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

static void
start_scheduler(Oid dboid, bool woken)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	WorkerDefine(&worker, "pgt_scheduler_main", "pg_trickle scheduler");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_trickle scheduler for database %u", dboid);
	worker.bgw_main_arg = ObjectIdGetDatum(dboid);
	/* woken by CREATE EXTENSION: its transaction may not have committed yet */
	worker.bgw_extra[0] = woken ? 1 : 0;
	worker.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(LOG,
				(errmsg("pg_trickle launcher could not start a scheduler for database %u", dboid),
				 errhint("Raise max_worker_processes.")));
}

/* Start schedulers where one should run and none does. */
static void
launch_round(bool first)
{
	List	   *dbs = list_databases();
	ListCell   *lc;
	TimestampTz now = GetCurrentTimestamp();
	Oid			wake;

	SpinLockAcquire(&PgtShared->mutex);
	wake = PgtShared->wake_database;
	PgtShared->wake_database = InvalidOid;
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
		bool		woken = (dboid == wake);

		SpinLockAcquire(&PgtShared->mutex);
		slot = SchedulerSlot(dboid, true);
		if (slot != NULL && slot->pid == 0 && slot->hold_until <= now &&
			(first || !slot->no_extension || woken))
		{
			slot->no_extension = false;
			/* claimed until the scheduler replaces it with its own pid */
			slot->pid = -1;
			slot->claimed_at = now;
			start = true;
		}
		else if (slot != NULL && slot->pid == -1 &&
				 TimestampDifferenceExceeds(slot->claimed_at, now, 6 * LAUNCHER_NAP_MS))
			slot->pid = 0;		/* a start that never came up: retry */
		SpinLockRelease(&PgtShared->mutex);
		if (start)
			start_scheduler(dboid, woken);
	}
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
	SpinLockRelease(&PgtShared->mutex);

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
		launch_round(first);
		first = false;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 LAUNCHER_NAP_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}

	SpinLockAcquire(&PgtShared->mutex);
	PgtShared->launcher_latch = NULL;
	SpinLockRelease(&PgtShared->mutex);
	proc_exit(0);
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
	PgtShared->wake_database = MyDatabaseId;
	if (PgtShared->launcher_latch)
		SetLatch(PgtShared->launcher_latch);
	SpinLockRelease(&PgtShared->mutex);
	PG_RETURN_BOOL(true);
}

/*
 * Whether a scheduler serves this database (quick_health).  Read from shared
 * memory so that every role sees the same answer; false when the library is
 * not preloaded.
 */
Datum
pgt_scheduler_running(PG_FUNCTION_ARGS)
{
	PgtDatabaseSlot *slot;
	bool		running = false;

	if (PgtShared == NULL)
		PG_RETURN_BOOL(false);
	SpinLockAcquire(&PgtShared->mutex);
	slot = SchedulerSlot(MyDatabaseId, false);
	if (slot != NULL && slot->pid > 0)
		running = true;
	SpinLockRelease(&PgtShared->mutex);
	PG_RETURN_BOOL(running);
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
