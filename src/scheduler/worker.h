/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The launcher and the per-database schedulers (background workers).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGT_WORKER_H
#define PGT_WORKER_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "storage/latch.h"
#include "storage/spin.h"

#define PGT_MAX_DATABASES 64
/* refresh workers of all databases together (the most one database may use) */
#define PGT_MAX_REFRESH_WORKERS 64

/* One database the launcher knows about. */
typedef struct PgtDatabaseSlot
{
	Oid			dboid;			/* InvalidOid: free */
	pid_t		pid;			/* its scheduler, 0 when none runs */
	bool		no_extension;	/* the scheduler found no pg_trickle there */
	TimestampTz hold_until;		/* do not start a scheduler before this */
	TimestampTz claimed_at;		/* pid -1: when the launcher started one */
	Latch	   *latch;			/* its scheduler's, set when a refresh ends */
} PgtDatabaseSlot;

/*
 * What a refresh worker is doing.  The scheduler moves a slot from IDLE to
 * ASSIGNED; the worker from ASSIGNED to DONE; the scheduler reads the result
 * and moves it back to IDLE.
 */
typedef enum PgtJobState
{
	PGT_JOB_IDLE,
	PGT_JOB_ASSIGNED,
	PGT_JOB_DONE
} PgtJobState;

/* How one scheduled refresh ended. */
typedef enum PgtJobResult
{
	PGT_REFRESHED,				/* refreshed (or no longer due) */
	PGT_SKIPPED,				/* another session holds the table: next round */
	PGT_FAILED					/* recorded in the catalog with its back-off */
} PgtJobResult;

/* One refresh worker (backend_type "pg_trickle refresh worker"). */
typedef struct PgtRefreshSlot
{
	Oid			dboid;			/* InvalidOid: free */
	pid_t		scheduler_pid;	/* the scheduler that owns it */
	pid_t		pid;			/* 0 while starting */
	Latch	   *latch;			/* the worker's, set when work is assigned */
	PgtJobState state;
	int64		pgt_id;			/* the stream table assigned or last refreshed */
	PgtJobResult result;
	bool		stop;			/* asked to exit when idle */
} PgtRefreshSlot;

typedef struct PgtSchedulerShared
{
	slock_t		mutex;
	Latch	   *launcher_latch;
	Oid			wake_database;	/* CREATE EXTENSION happened here */
	PgtDatabaseSlot slots[PGT_MAX_DATABASES];
	PgtRefreshSlot refreshers[PGT_MAX_REFRESH_WORKERS];
} PgtSchedulerShared;

extern PgtSchedulerShared *PgtShared;

/* shmem.c */
extern void SchedulerShmemInit(void);
extern PgtDatabaseSlot *SchedulerSlot(Oid dboid, bool create);

/* launcher.c */
struct BackgroundWorker;
extern void WorkerDefine(struct BackgroundWorker *worker, const char *function,
						 const char *type);
extern void LauncherRegister(void);
extern void LauncherHoldDatabase(Oid dboid);

/* job.c */
extern PgtJobResult RefreshJob(int64 pgt_id);

/* refresher.c */
extern bool RefresherAssign(int64 pgt_id);
extern void RefresherReap(void (*finished) (int64 pgt_id, PgtJobResult result,
											bool lost));
extern int	RefresherBusy(int64 *busy, int max);
extern void RefresherStopAll(Oid dboid, pid_t scheduler_pid, bool wait);
extern void RefresherForgetStale(void);

/* dbguard.c */
extern void DatabaseGuardInit(void);

#endif							/* PGT_WORKER_H */
