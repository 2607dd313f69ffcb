/*-------------------------------------------------------------------------
 *
 * drop.c
 *	  drop_stream_table.
 *
 * Dropping is DROP TABLE of the storage table, so PostgreSQL removes the
 * defining view (an internal part of it) and, with cascade, whatever depends
 * on it; the sql_drop event trigger and a sweep here clean the catalog.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "api/api.h"
#include "capture/capture.h"
#include "refresh/refresh.h"

PG_FUNCTION_INFO_V1(pgt_drop_stream_table);

Datum
pgt_drop_stream_table(PG_FUNCTION_ARGS)
{
	char	   *name = ApiArgText(fcinfo, 0, "name");
	bool		cascade = PG_ARGISNULL(1) ? false : PG_GETARG_BOOL(1);
	StreamTable *st = ApiLookup(name, AccessExclusiveLock, true);
	List	   *readers;

	ApiCheckOwner(st);
	readers = DependReaders(st->relid);
	if (readers != NIL && !cascade)
	{
		StringInfoData detail;
		ListCell   *lc;

		initStringInfo(&detail);
		foreach(lc, readers)
			appendStringInfo(&detail, "%sstream table %s reads stream table %s",
							 detail.len ? "\n" : "", (char *) lfirst(lc),
							 CatalogRelationName(st->relid));
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop stream table %s because other stream tables read it",
						CatalogRelationName(st->relid)),
				 errdetail("%s", detail.data),
				 errhint("Use cascade => true to drop them too.")));
	}

	SPI_connect();
	if (SPI_execute(psprintf("DROP TABLE %s%s", CatalogRelationName(st->relid),
							 cascade ? " CASCADE" : ""), false, 0) < 0)
		elog(ERROR, "could not drop stream table %s", name);
	SPI_finish();
	CatalogRemoveOrphans();
	CaptureDetachUnused(true);
	PG_RETURN_VOID();
}
