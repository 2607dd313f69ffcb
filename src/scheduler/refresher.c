/*-------------------------------------------------------------------------
 *
 * refresher.c
 *	  Refresh workers: the scheduler's hands.
 *
 * A scheduler runs up to pg_trickle.max_concurrent_refreshes refreshes at
 * once, each in a refresh worker (backend_type "pg_trickle refresh
 * worker").  Workers are started on demand and kept while there is work, so
 * that each keeps its caches (catalog, prepared delta statements) warm; one
 * idle for a minute exits.  The scheduler hands a worker a stream table
 * through its slot in shared memory and sets its latch; the worker refreshes
 * it (job.c), which records the outcome in the catalog, clears the slot's
 * job and sets the scheduler's latch.  A worker exits when its scheduler is gone, when asked to (DROP
 * EXTENSION, the database being dropped), or on SIGTERM.  A worker frees its
 * own slot when it exits; the scheduler frees the slot of a worker that
 * never came up.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "scheduler/worker.h"

PGDLLEXPORT void pgt_refresher_main(Datum main_arg);

#define REFRESHER_IDLE_EXIT_MS 60000

/*
 * The scheduler's handles of the workers it started, by slot, and the stream
 * table each was handed and has not reported on yet (0: none), which tells
 * a worker that died with a job from one that exited idle.
 */
static BackgroundWorkerHandle *handles[PGT_MAX_REFRESH_WORKERS];
static int64 unreported[PGT_MAX_REFRESH_WORKERS];
static TimestampTz last_complaint = 0;

/* Caller holds the mutex. */
static bool
slot_is_mine(PgtRefreshSlot *slot)
{
	return slot->dboid == MyDatabaseId && slot->scheduler_pid == MyProcPid;
}

static int
start_worker(int64 pgt_id)
{
	BackgroundWorker worker;
	int			idx = -1;

	SpinLockAcquire(&PgtShared->mutex);
	for (int i = 0; i < PGT_MAX_REFRESH_WORKERS; i++)
	{
		PgtRefreshSlot *slot = &PgtShared->refreshers[i];

		if (!OidIsValid(slot->dboid) && handles[i] == NULL)
		{
			memset(slot, 0, sizeof(PgtRefreshSlot));
			slot->dboid = MyDatabaseId;
			slot->scheduler_pid = MyProcPid;
			slot->job = pgt_id;
			idx = i;
			break;
		}
	}
	SpinLockRelease(&PgtShared->mutex);
	if (idx < 0)
		return -1;

	WorkerDefine(&worker, "pgt_refresher_main", "pg_trickle refresh worker");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_trickle refresh worker for database %u",
			 MyDatabaseId);
	worker.bgw_main_arg = Int32GetDatum(idx);
	memcpy(worker.bgw_extra, &MyDatabaseId, sizeof(Oid));
	worker.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&worker, &handles[idx]))
	{
		SpinLockAcquire(&PgtShared->mutex);
		memset(&PgtShared->refreshers[idx], 0, sizeof(PgtRefreshSlot));
		SpinLockRelease(&PgtShared->mutex);
		handles[idx] = NULL;
		return -1;
	}
	unreported[idx] = pgt_id;
	return idx;
}

/*
 * Hand a stream table to a refresh worker: an idle one of this scheduler
 * (the one that refreshed it last if it is idle, for its warm caches), or a
 * new one.  The caller keeps the number of busy workers within
 * max_concurrent_refreshes.  False when no worker could be started (no
 * free background worker slot): the caller refreshes it itself.
 */
bool
RefresherAssign(int64 pgt_id)
{
	int			chosen = -1;
	Latch	   *latch = NULL;

	SpinLockAcquire(&PgtShared->mutex);
	for (int i = 0; i < PGT_MAX_REFRESH_WORKERS; i++)
	{
		PgtRefreshSlot *slot = &PgtShared->refreshers[i];

		if (!slot_is_mine(slot) || slot->pid <= 0 || slot->stop || slot->job != 0)
			continue;
		if (chosen < 0 || slot->last_job == pgt_id)
			chosen = i;
		if (slot->last_job == pgt_id)
			break;
	}
	if (chosen >= 0)
	{
		PgtRefreshSlot *slot = &PgtShared->refreshers[chosen];

		slot->job = pgt_id;
		latch = slot->latch;
		unreported[chosen] = pgt_id;
	}
	SpinLockRelease(&PgtShared->mutex);
	if (latch != NULL)
	{
		SetLatch(latch);
		return true;
	}
	if (start_worker(pgt_id) >= 0)
		return true;
	/* once a minute is enough to be noticed */
	if (TimestampDifferenceExceeds(last_complaint, GetCurrentTimestamp(), 60000))
	{
		ereport(LOG,
				(errmsg("pg_trickle scheduler could not start a refresh worker, refreshing in the scheduler"),
				 errhint("Raise max_worker_processes.")));
		last_complaint = GetCurrentTimestamp();
	}
	return false;
}

/*
 * Notice what the workers of this scheduler finished, and forget workers
 * that exited.  True when one exited in the middle of a refresh (killed):
 * the caller has its RUNNING history row marked FAILED
 * (_fail_interrupted_refreshes).
 */
bool
RefresherReap(void)
{
	bool		lost = false;

	for (int i = 0; i < PGT_MAX_REFRESH_WORKERS; i++)
	{
		PgtRefreshSlot *slot = &PgtShared->refreshers[i];
		bool		stopped;
		pid_t		pid;

		if (handles[i] == NULL)
			continue;
		/* read before the slot: a worker that stopped wrote its last word */
		stopped = (GetBackgroundWorkerPid(handles[i], &pid) == BGWH_STOPPED);

		SpinLockAcquire(&PgtShared->mutex);
		if (slot_is_mine(slot) && slot->job == 0)
			unreported[i] = 0;
		if (stopped && slot_is_mine(slot))
			memset(slot, 0, sizeof(PgtRefreshSlot));	/* never came up */
		SpinLockRelease(&PgtShared->mutex);

		if (stopped)
		{
			/* gone with a job: killed, or failed to start */
			if (unreported[i] != 0)
				lost = true;
			unreported[i] = 0;
			pfree(handles[i]);
			handles[i] = NULL;
		}
	}
	return lost;
}

/* The stream tables this scheduler's workers are refreshing. */
int
RefresherBusy(int64 *busy, int max)
{
	int			n = 0;

	SpinLockAcquire(&PgtShared->mutex);
	for (int i = 0; i < PGT_MAX_REFRESH_WORKERS && n < max; i++)
	{
		PgtRefreshSlot *slot = &PgtShared->refreshers[i];

		if (slot_is_mine(slot) && slot->job != 0)
			busy[n++] = slot->job;
	}
	SpinLockRelease(&PgtShared->mutex);
	return n;
}

/*
 * Ask the refresh workers of a database to exit: those of one scheduler
 * once they are idle (it is going away), or with wait, all of them now
 * (SIGTERM: the database is about to be dropped or renamed), waiting up to
 * five seconds for them to be gone.
 */
void
RefresherStopAll(Oid dboid, pid_t scheduler_pid, bool wait)
{
	for (int round = 0; round < 100; round++)
	{
		int			left = 0;

		SpinLockAcquire(&PgtShared->mutex);
		for (int i = 0; i < PGT_MAX_REFRESH_WORKERS; i++)
		{
			PgtRefreshSlot *slot = &PgtShared->refreshers[i];

			if (slot->dboid != dboid ||
				(scheduler_pid != 0 && slot->scheduler_pid != scheduler_pid))
				continue;
			slot->stop = true;
			if (slot->latch)
				SetLatch(slot->latch);
			if (wait && slot->pid > 0)
			{
				if (round == 0)
					(void) kill(slot->pid, SIGTERM);
				left++;
			}
		}
		SpinLockRelease(&PgtShared->mutex);
		if (left == 0)
			return;
		pg_usleep(50000);
	}
}

/* At a scheduler's start: slots of workers of this database that never came up. */
void
RefresherForgetStale(void)
{
	SpinLockAcquire(&PgtShared->mutex);
	for (int i = 0; i < PGT_MAX_REFRESH_WORKERS; i++)
	{
		PgtRefreshSlot *slot = &PgtShared->refreshers[i];

		if (slot->dboid == MyDatabaseId && slot->scheduler_pid != MyProcPid &&
			slot->pid == 0)
			memset(slot, 0, sizeof(PgtRefreshSlot));
	}
	SpinLockRelease(&PgtShared->mutex);
}

/* ------------------------------------------------------------------------
 * The worker
 * ------------------------------------------------------------------------
 */

static int	my_slot = -1;

static void
free_my_slot(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	SpinLockAcquire(&PgtShared->mutex);
	if (my_slot >= 0 && PgtShared->refreshers[my_slot].pid == MyProcPid)
		memset(&PgtShared->refreshers[my_slot], 0, sizeof(PgtRefreshSlot));
	SpinLockRelease(&PgtShared->mutex);
}

/*
 * Whether this worker should go: asked to, its scheduler is gone, or the
 * database is held for DDL.  Caller holds the mutex.
 */
static bool
should_exit(PgtRefreshSlot *slot, TimestampTz now)
{
	PgtDatabaseSlot *db = SchedulerSlot(slot->dboid, false);

	return slot->stop || db == NULL || db->pid != slot->scheduler_pid ||
		db->hold_until > now;
}

void
pgt_refresher_main(Datum main_arg)
{
	int			idx = DatumGetInt32(main_arg);
	PgtRefreshSlot *slot;
	Oid			dboid;
	bool		claimed;
	MemoryContext job_cxt;
	TimestampTz idle_since;
	TimestampTz now;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	memcpy(&dboid, MyBgworkerEntry->bgw_extra, sizeof(Oid));
	if (idx < 0 || idx >= PGT_MAX_REFRESH_WORKERS)
		proc_exit(0);
	slot = &PgtShared->refreshers[idx];

	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);

	now = GetCurrentTimestamp();
	SpinLockAcquire(&PgtShared->mutex);
	claimed = (slot->dboid == dboid && slot->pid == 0 &&
			   slot->scheduler_pid == MyBgworkerEntry->bgw_notify_pid &&
			   !should_exit(slot, now));
	if (claimed)
	{
		slot->pid = MyProcPid;
		slot->latch = MyLatch;
		my_slot = idx;
	}
	SpinLockRelease(&PgtShared->mutex);
	if (!claimed)
		proc_exit(0);			/* the scheduler frees the slot */
	before_shmem_exit(free_my_slot, (Datum) 0);

	job_cxt = AllocSetContextCreate(TopMemoryContext, "pg_trickle refresh job",
									ALLOCSET_DEFAULT_SIZES);
	idle_since = GetCurrentTimestamp();
	for (;;)
	{
		int64		pgt_id = 0;
		bool		leave = false;
		Latch	   *scheduler_latch = NULL;

		/* a cancel while idle has no refresh to cancel (a session ignores it too) */
		QueryCancelPending = false;
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		now = GetCurrentTimestamp();
		SpinLockAcquire(&PgtShared->mutex);
		if (slot->job != 0)
			pgt_id = slot->job;
		else if ((should_exit(slot, now) ||
				  TimestampDifferenceExceeds(idle_since, now, REFRESHER_IDLE_EXIT_MS)))
		{
			/* freed under the mutex: no job can be assigned to it any more */
			memset(slot, 0, sizeof(PgtRefreshSlot));
			leave = true;
		}
		SpinLockRelease(&PgtShared->mutex);
		if (leave)
			break;

		if (pgt_id != 0)
		{
			PgtDatabaseSlot *db;

			MemoryContextSwitchTo(job_cxt);
			RefreshJob(pgt_id);
			MemoryContextSwitchTo(TopMemoryContext);
			MemoryContextReset(job_cxt);

			SpinLockAcquire(&PgtShared->mutex);
			slot->last_job = pgt_id;
			slot->job = 0;
			db = SchedulerSlot(dboid, false);
			if (db != NULL && db->pid == slot->scheduler_pid)
				scheduler_latch = db->latch;
			SpinLockRelease(&PgtShared->mutex);
			if (scheduler_latch != NULL)
				SetLatch(scheduler_latch);
			idle_since = GetCurrentTimestamp();
			continue;
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	proc_exit(0);
}
