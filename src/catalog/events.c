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
#include "catalog/pgt_catalog.h"

PG_FUNCTION_INFO_V1(pgt_on_sql_drop);
PG_FUNCTION_INFO_V1(pgt_on_ddl_command_end);
PG_FUNCTION_INFO_V1(pgt_on_view_change);

Datum
pgt_on_sql_drop(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "pgt_on_sql_drop must be called as an event trigger");

	/* DROP EXTENSION pg_trickle removes the catalog itself */
	if (CatalogExists())
	{
		CatalogRemoveOrphans();
		CaptureDetachUnused(true);
	}
	PG_RETURN_VOID();
}

/*
 * The stream tables a DDL command may have changed the names or the
 * deparsed query of: the command's object is the storage table or the
 * defining view, something the defining view depends on (a source, a column
 * of one, a function, a type), or a schema holding either.  Only these are
 * brought in step: reading the definition of a view locks it, and a DDL
 * command must not wait for (and so deadlock with) another transaction
 * that is creating, altering or dropping an unrelated stream table.
 */
static List *
affected_stream_tables(void)
{
	return CatalogIds("SELECT DISTINCT s.pgt_id"
					  "  FROM pg_catalog.pg_event_trigger_ddl_commands() e,"
					  "       pgtrickle.pgt_stream_tables s"
					  " WHERE ((e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
					  "        AND e.objid IN (s.pgt_relid, s.pgt_query_relid))"
					  "    OR EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite r"
					  "                 JOIN pg_catalog.pg_depend d"
					  "                   ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
					  "                  AND d.objid = r.oid"
					  "                 LEFT JOIN pg_catalog.pg_class c"
					  "                   ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
					  "                  AND c.oid = d.refobjid"
					  "                WHERE r.ev_class = s.pgt_query_relid"
					  "                  AND ((d.refclassid = e.classid AND d.refobjid = e.objid)"
					  "                       OR (e.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass"
					  "                           AND c.relnamespace = e.objid)))"
	/* a relation read through a view (views as sources) */
					  "    OR (e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
					  "        AND EXISTS (SELECT 1 FROM pgtrickle.pgt_dependencies d"
					  "                     WHERE d.pgt_id = s.pgt_id AND d.source_relid = e.objid))"
					  "    OR (e.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass"
					  "        AND EXISTS (SELECT 1 FROM pg_catalog.pg_class t"
					  "                     WHERE t.oid = s.pgt_relid AND t.relnamespace = e.objid)))"
	/* a restored row is derived when it is re-armed (restore.c) */
					  "   AND " CATALOG_ARMED("s"));
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
		{
			ListCell   *lc;

			foreach(lc, affected_stream_tables())
				DependSync(*(int64 *) lfirst(lc));
		}
		/* e.g. a new owner of a stream table needs rights on its buffers */
		CaptureDetachUnused(false);
	}
	PG_RETURN_VOID();
}

/*
 * CREATE OR REPLACE VIEW can make a view that a stream table reads lead
 * back to that stream table: refuse the cycle as alter_stream_table does.
 */
Datum
pgt_on_view_change(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "pgt_on_view_change must be called as an event trigger");

	if (CatalogExists())
	{
		DependCheckCycle(0);
		/* stream tables that read a replaced view (viewsource.c) */
		DependViewsReplaced();
	}
	PG_RETURN_VOID();
}
