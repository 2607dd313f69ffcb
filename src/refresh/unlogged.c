/*-------------------------------------------------------------------------
 *
 * unlogged.c
 *	  Stream tables over UNLOGGED relations: noticing that crash recovery
 *	  (or the promotion of a standby) emptied them.
 *
 * Crash recovery resets every unlogged relation to empty; a standby has
 * them empty and so has the server it becomes.  A stream table computed
 * from such a relation then holds rows its query no longer returns, and no
 * change was captured for the rows that vanished.  Its next refresh must
 * recompute it.
 *
 * How it is noticed, without reading pg_control (it works the same on every
 * version and on a promoted standby): pgtrickle.pgt_unlogged_marks is
 * itself UNLOGGED.  Every successful DIFFERENTIAL refresh of a stream table
 * that reads an unlogged relation (a source, or its own storage table)
 * leaves a row for it there; recovery empties that table exactly when it
 * empties the relations.  A missing row means: recompute (FULL, reason in
 * the history).  The recompute's snapshot becomes the frontier, so the
 * buffer rows written before it (copies of rows that are gone) are consumed
 * with it, and pruned.  A stream table with no mark yet (new, or a source
 * that became unlogged by ALTER TABLE ... SET UNLOGGED) is recomputed once,
 * which is only careful.
 *
 * FULL stream tables need nothing: every refresh recomputes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/lsyscache.h"

#include "refresh/refresh.h"

/* The first unlogged relation the stream table reads or is, or InvalidOid. */
static Oid
first_unlogged(const StreamTable *st)
{
	ListCell   *lc;

	if (get_rel_persistence(st->relid) == RELPERSISTENCE_UNLOGGED)
		return st->relid;
	foreach(lc, CatalogSourceRelids(st->pgt_id))
		if (get_rel_persistence(lfirst_oid(lc)) == RELPERSISTENCE_UNLOGGED)
			return lfirst_oid(lc);
	return InvalidOid;
}

/*
 * Whether the stream table reads an unlogged relation and has no mark: the
 * relation may have been emptied since its last refresh.  *relname names
 * it (for the history's reason).  Call within SPI.
 */
bool
RefreshUnloggedLost(const StreamTable *st, char **relname)
{
	Oid			rel = first_unlogged(st);
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(st->pgt_id)};

	if (!OidIsValid(rel))
		return false;
	CatalogRun("SELECT FROM pgtrickle.pgt_unlogged_marks"
			   " WHERE pgt_id OPERATOR(pg_catalog.=) $1",
			   1, argtypes, values, NULL, true);
	if (SPI_processed > 0)
		return false;
	*relname = CatalogRelationName(rel);
	return true;
}

/*
 * After a successful refresh: mark the stream table if it reads an
 * unlogged relation.  Call within SPI.
 */
void
RefreshUnloggedMark(const StreamTable *st)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(st->pgt_id)};

	if (!OidIsValid(first_unlogged(st)))
		return;
	CatalogRun("INSERT INTO pgtrickle.pgt_unlogged_marks (pgt_id) VALUES ($1)"
			   " ON CONFLICT DO NOTHING",
			   1, argtypes, values, NULL, false);
}
