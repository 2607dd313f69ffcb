/*-------------------------------------------------------------------------
 *
 * refresh.c
 *	  refresh_stream_table.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "api/api.h"
#include "refresh/refresh.h"

PG_FUNCTION_INFO_V1(pgt_refresh_stream_table);

Datum
pgt_refresh_stream_table(PG_FUNCTION_ARGS)
{
	/* ExclusiveLock: readers go on, a second refresh waits (lock_timeout) */
	StreamTable *st = ApiLookup(ApiArgText(fcinfo, 0, "name"), ExclusiveLock, true);

	ApiCheckOwner(st);
	ApiCheckNotInError(st);
	RefreshExecute(st, REFRESH_MANUAL, NULL);
	PG_RETURN_VOID();
}
