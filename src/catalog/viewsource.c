/*-------------------------------------------------------------------------
 *
 * viewsource.c
 *	  CREATE OR REPLACE VIEW of a view that stream tables read.
 *
 * A differential refresh expands the views a query reads to their
 * definitions (delta/views.c) and captures the tables under them, so a new
 * definition changes both what is captured and what the stored state
 * means.  The stream tables that read a replaced view, directly or through
 * other views, are re-derived (their sources), and each DIFFERENTIAL one
 * must still be differentiable under its owner's rights (0A000 refuses the
 * CREATE OR REPLACE VIEW otherwise), gets capture on the new tables, and
 * forgets its frontiers: its next refresh recomputes.  See
 * src/catalog/README.md, "Views as sources".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"


#include "capture/capture.h"
#include "catalog/pgt_catalog.h"
#include "delta/delta.h"
#include "refresh/refresh.h"

/*
 * The armed stream tables that read a view the current command created or
 * replaced (their pgt_dependencies hold every view they read, views on
 * views included).
 */
static List *
view_readers(void)
{
	return CatalogIds("SELECT DISTINCT s.pgt_id"
					  "  FROM pg_catalog.pg_event_trigger_ddl_commands() e"
					  "  JOIN pgtrickle.pgt_dependencies d"
					  "    ON d.source_relid = e.objid AND d.source_type = 'VIEW'"
					  "  JOIN pgtrickle.pgt_stream_tables s ON s.pgt_id = d.pgt_id"
					  " WHERE e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
					  "   AND " CATALOG_ARMED("s")
					  " ORDER BY 1");
}

/*
 * Bring the stream tables that read a replaced view in step with its new
 * definition.  Called at the end of CREATE [OR REPLACE] VIEW; nothing to do
 * for a view no stream table reads.
 */
void
DependViewsReplaced(void)
{
	List	   *ids = view_readers();
	ListCell   *lc;

	foreach(lc, ids)
		DependSync(*(int64 *) lfirst(lc));
	foreach(lc, ids)
	{
		StreamTable *st = CatalogGetById(*(int64 *) lfirst(lc));
		Sandbox		sb;

		if (st == NULL || strcmp(st->refresh_mode, "DIFFERENTIAL") != 0)
			continue;
		/* still differentiable, with the owner's rights (0A000 otherwise) */
		SandboxEnter(&sb, st->relid);
		(void) DifferentialShape(st);
		SandboxLeave(&sb);
		CaptureAttach(st->pgt_id);
		/* the stored state follows the old definition: recompute next */
		CaptureResetFrontiers(st->pgt_id);
	}
}

