/*-------------------------------------------------------------------------
 *
 * pg_trickle.c
 *	  Library entry point: _PG_init calls each module's init, nothing else.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	GucInit();
}
