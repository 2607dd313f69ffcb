/*-------------------------------------------------------------------------
 *
 * events.c
 *	  Event triggers that keep the catalog in step with DDL.
 *
 * PostgreSQL's dependencies decide what a DROP removes and refuse what would
 * break a stream table; these triggers only make pgt_* rows follow: rows of
 * dropped stream tables go, renamed objects show their new names.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/event_trigger.h"
#include "fmgr.h"

#include "capture/capture.h"
#include "catalog/catalog.h"

PG_FUNCTION_INFO_V1(pgt_on_sql_drop);
PG_FUNCTION_INFO_V1(pgt_on_ddl_command_end);

Datum
pgt_on_sql_drop(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "pgt_on_sql_drop must be called as an event trigger");

	/* DROP EXTENSION pg_trickle removes the catalog itself */
	if (CatalogExists())
	{
		CatalogRemoveOrphans();
		CaptureDetachUnused();
	}
	PG_RETURN_VOID();
}

Datum
pgt_on_ddl_command_end(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "pgt_on_ddl_command_end must be called as an event trigger");

	if (CatalogExists())
	{
		DependCheckStorageColumns();
		/* ALTER TABLE ... SET SCHEMA into an internal schema */
		CatalogCheckHomes();
		DependSync(0);
		/* e.g. a new owner of a stream table needs rights on its buffers */
		CaptureDetachUnused();
	}
	PG_RETURN_VOID();
}
