/*-------------------------------------------------------------------------
 *
 * pg_trickle.c
 *	  Library entry point: _PG_init calls each module's init, nothing else.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "miscadmin.h"

#include "guc.h"
#include "refresh/refresh.h"
#include "scheduler/worker.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	GucInit();
	DatabaseGuardInit();
	GuardInit();

	/* the scheduler needs shared memory and a launcher: preloading only */
	if (process_shared_preload_libraries_in_progress)
	{
		SchedulerShmemInit();
		/* pg_upgrade's servers restore schemas and copy data: no refreshes */
		if (!IsBinaryUpgrade)
			LauncherRegister();
	}
}
