/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  Stream tables are written by refreshes only.
 *
 * Every storage table carries a statement-level BEFORE trigger (enabled
 * ALWAYS, so session_replication_role does not switch it off) that refuses
 * INSERT, UPDATE, DELETE, TRUNCATE and COPY unless this backend is
 * refreshing that very table.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/rel.h"

#include "catalog/pgt_catalog.h"
#include "refresh/refresh.h"

PG_FUNCTION_INFO_V1(pgt_guard_write);

/* the stream table a refresh in this backend is writing, if any */
static Oid	writing_relid = InvalidOid;

void
GuardAllowWrites(Oid relid)
{
	writing_relid = relid;
}

void
GuardForbidWrites(void)
{
	writing_relid = InvalidOid;
}

/*
 * Put the guard on a new storage table.
 */
void
GuardInstall(Oid relid)
{
	char	   *table = CatalogRelationName(relid);
	CatalogAccess acc;

	SPI_connect();
	CatalogBeginAccess(&acc, NULL);
	if (SPI_execute(psprintf("CREATE TRIGGER pgt_write_guard"
							 " BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s"
							 " FOR EACH STATEMENT"
							 " EXECUTE FUNCTION pgtrickle._guard_write()", table),
					false, 0) < 0 ||
		SPI_execute(psprintf("ALTER TABLE %s ENABLE ALWAYS TRIGGER pgt_write_guard",
							 table), false, 0) < 0)
		elog(ERROR, "could not install the write guard on %s", table);
	CatalogEndAccess(&acc);
	SPI_finish();
}

Datum
pgt_guard_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "pgt_guard_write must be called as a trigger");

	if (RelationGetRelid(trigdata->tg_relation) != writing_relid)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot modify stream table \"%s\"",
						RelationGetRelationName(trigdata->tg_relation)),
				 errdetail("The contents of a stream table are maintained by pg_trickle from its defining query."),
				 errhint("Change its source tables and call pgtrickle.refresh_stream_table(), or change the query with pgtrickle.alter_stream_table().")));
	return PointerGetDatum(NULL);
}
