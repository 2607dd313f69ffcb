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

/* One database the launcher knows about. */
typedef struct PgtDatabaseSlot
{
	Oid			dboid;			/* InvalidOid: free */
	pid_t		pid;			/* its scheduler, 0 when none runs */
	bool		no_extension;	/* the scheduler found no pg_trickle there */
	TimestampTz hold_until;		/* do not start a scheduler before this */
	TimestampTz claimed_at;		/* pid -1: when the launcher started one */
} PgtDatabaseSlot;

typedef struct PgtSchedulerShared
{
	slock_t		mutex;
	Latch	   *launcher_latch;
	Oid			wake_database;	/* CREATE EXTENSION happened here */
	PgtDatabaseSlot slots[PGT_MAX_DATABASES];
} PgtSchedulerShared;

extern PgtSchedulerShared *PgtShared;

/* shmem.c */
extern void SchedulerShmemInit(void);
extern PgtDatabaseSlot *SchedulerSlot(Oid dboid, bool create);

/* launcher.c */
extern void LauncherRegister(void);
extern void LauncherHoldDatabase(Oid dboid);

/* dbguard.c */
extern void DatabaseGuardInit(void);

#endif							/* PGT_WORKER_H */
