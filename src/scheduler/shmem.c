/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  Shared state of the launcher and the schedulers: one slot per
 *	  database, protected by a spinlock (a few fields, short critical
 *	  sections).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "scheduler/worker.h"

PgtSchedulerShared *PgtShared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(PgtSchedulerShared)));
}

static void
shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	PgtShared = ShmemInitStruct("pg_trickle scheduler", sizeof(PgtSchedulerShared), &found);
	if (!found)
	{
		memset(PgtShared, 0, sizeof(PgtSchedulerShared));
		SpinLockInit(&PgtShared->mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

void
SchedulerShmemInit(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = shmem_startup;
}

/*
 * The slot of a database; with create, a free one is taken.  Caller holds
 * the mutex.  NULL when there is none (and no room).
 */
PgtDatabaseSlot *
SchedulerSlot(Oid dboid, bool create)
{
	PgtDatabaseSlot *free_slot = NULL;

	for (int i = 0; i < PGT_MAX_DATABASES; i++)
	{
		PgtDatabaseSlot *slot = &PgtShared->slots[i];

		if (slot->dboid == dboid)
			return slot;
		if (free_slot == NULL && !OidIsValid(slot->dboid))
			free_slot = slot;
	}
	if (create && free_slot != NULL)
	{
		memset(free_slot, 0, sizeof(PgtDatabaseSlot));
		free_slot->dboid = dboid;
		return free_slot;
	}
	return NULL;
}
