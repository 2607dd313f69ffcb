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
#include "nodes/pg_list.h"
#include "storage/latch.h"
#include "storage/spin.h"

#define PGT_MAX_DATABASES 64
/* refresh workers of all databases together (the most one database may use) */
#define PGT_MAX_REFRESH_WORKERS 64

/*
 * One database the launcher knows about.  A scheduler runs only while its
 * database has work; one that has none exits and leaves in its slot when
 * it wants to be started again (wake_at; 0: only when woken).
 */
typedef struct PgtDatabaseSlot
{
	Oid			dboid;			/* InvalidOid: free */
	pid_t		pid;			/* its scheduler, 0 when none runs */
	bool		no_extension;	/* the scheduler found no pg_trickle there */
	bool		sleeping;		/* the scheduler exited with nothing to do */
	bool		disabled;		/* ... because pg_trickle.enabled was off */
	bool		woken;			/* start a scheduler now (new work) */
	bool		start_failed;	/* the launcher could not start one */
	TimestampTz retry_at;		/* start_failed: not again before this */
	TimestampTz wake_at;		/* sleeping: start one again at this time */
	TimestampTz last_upkeep;	/* last history pruning in this database */
	TimestampTz hold_until;		/* do not start a scheduler before this */
	TimestampTz claimed_at;		/* pid -1: when the launcher started one */
	Latch	   *latch;			/* its scheduler's, set when a refresh ends */
} PgtDatabaseSlot;

/*
 * One refresh worker (backend_type "pg_trickle refresh worker").  The
 * scheduler hands it a stream table by setting job (and its latch); the
 * worker sets job back to 0 when the refresh is over (and the scheduler's
 * latch).  How the refresh ended is in the catalog.
 */
typedef struct PgtRefreshSlot
{
	Oid			dboid;			/* InvalidOid: free */
	pid_t		scheduler_pid;	/* the scheduler that owns it */
	pid_t		pid;			/* 0 while starting */
	Latch	   *latch;			/* the worker's */
	int64		job;			/* the stream table to refresh, 0: idle */
	int64		last_job;		/* the one it refreshed last (warm caches) */
	bool		stop;			/* asked to exit when idle */
} PgtRefreshSlot;

typedef struct PgtSchedulerShared
{
	slock_t		mutex;
	Latch	   *launcher_latch;
	pid_t		launcher_pid;	/* 0 when no launcher runs */
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
extern void LauncherWakeAtCommit(void);

/* A due stream table of a scheduler round and the stream tables it reads. */
typedef struct DueTable
{
	int64		pgt_id;
	Oid			relid;			/* its storage table */
	int			n_upstream;
	int64	   *upstream;
	bool		candidate;		/* ACTIVE populated DIFFERENTIAL, no errors */
	bool		idle;			/* nothing to refresh: confirmed fresh */
	bool		dispatched;
} DueTable;

/* idle.c */
extern int	SchedulerConfirmIdle(List *due);

/* job.c */
extern void RefreshJob(int64 pgt_id);

/* refresher.c */
extern bool RefresherAssign(int64 pgt_id);
extern bool RefresherReap(void);
extern int	RefresherBusy(int64 *busy, int max);
extern void RefresherStopAll(Oid dboid, pid_t scheduler_pid, bool wait);
extern void RefresherForgetStale(void);

/* dbguard.c */
extern void DatabaseGuardInit(void);

#endif							/* PGT_WORKER_H */
