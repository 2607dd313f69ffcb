/*-------------------------------------------------------------------------
 *
 * depend.c
 *	  The defining view of a stream table and the dependencies it carries.
 *
 * The defining query lives as a view pgtrickle_defs.st_<pgt_id> that is an
 * INTERNAL part of the storage table.  PostgreSQL's dependency machinery then
 * does the work users expect: DROP TABLE of a source names the stream table,
 * CASCADE drops it, renames of sources and their columns are followed, and a
 * column the query uses cannot be dropped.  pgt_dependencies is derived from
 * the view's pg_depend rows, never maintained by hand.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "catalog/pgt_catalog.h"

static void
spi_exec(const char *sql, int nargs, Oid *argtypes, Datum *values,
		 const char *search_path)
{
	CatalogAccess acc;
	int			rc;

	CatalogBeginAccess(&acc, search_path);
	rc = SPI_execute_with_args(sql, nargs, argtypes, values, NULL, false, 0);
	CatalogEndAccess(&acc);
	if (rc < 0)
		elog(ERROR, "statement failed (%s): %s", SPI_result_code_string(rc), sql);
}

/*
 * Create the defining view of a new stream table and make it an internal
 * part of the storage table.  The query resolves under the caller's
 * search_path, exactly as the storage table's CREATE TABLE AS did.
 */
Oid
DependCreateDefiningView(int64 pgt_id, const char *query,
						 const char *search_path, Oid storage_relid)
{
	char	   *viewname = psprintf("st_" INT64_FORMAT, pgt_id);
	Oid			nsp;
	Oid			view_relid;
	ObjectAddress view;
	ObjectAddress table;

	SPI_connect();
	spi_exec(psprintf("CREATE VIEW pgtrickle_defs.%s AS\n%s\n",
					  quote_identifier(viewname), query),
			 0, NULL, NULL, search_path);
	SPI_finish();

	nsp = get_namespace_oid("pgtrickle_defs", false);
	view_relid = get_relname_relid(viewname, nsp);
	if (!OidIsValid(view_relid))
		elog(ERROR, "defining view %s was not created", viewname);

	ObjectAddressSet(view, RelationRelationId, view_relid);
	ObjectAddressSet(table, RelationRelationId, storage_relid);
	recordDependencyOn(&view, &table, DEPENDENCY_INTERNAL);
	CommandCounterIncrement();
	return view_relid;
}

/*
 * Replace the query of a defining view whose output columns do not change.
 */
void
DependReplaceDefiningView(Oid view_relid, const char *query,
						  const char *search_path)
{
	SPI_connect();
	spi_exec(psprintf("CREATE OR REPLACE VIEW %s AS\n%s\n",
					  quote_qualified_identifier("pgtrickle_defs",
												 get_rel_name(view_relid)),
					  query),
			 0, NULL, NULL, search_path);
	SPI_finish();
}

/*
 * Drop a defining view on its own (its storage table stays), to be created
 * again for a query with other output columns.
 */
void
DependDropDefiningView(Oid view_relid, Oid storage_relid)
{
	ObjectAddress view;

	/* PostgreSQL never drops an internal part alone: unlink it first */
	deleteDependencyRecordsForSpecific(RelationRelationId, view_relid,
									   DEPENDENCY_INTERNAL,
									   RelationRelationId, storage_relid);
	CommandCounterIncrement();
	ObjectAddressSet(view, RelationRelationId, view_relid);
	performDeletion(&view, DROP_RESTRICT, PERFORM_DELETION_INTERNAL);
	CommandCounterIncrement();
}

/*
 * The defining query as PostgreSQL deparses it now, every name qualified,
 * without the trailing semicolon: ready to be used as a subquery.
 */
char *
DependViewQuery(Oid view_relid)
{
	MemoryContext outer = CurrentMemoryContext;
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(view_relid)};
	char	   *result;
	bool		isnull;

	SPI_connect();
	spi_exec("SELECT pg_catalog.btrim(pg_catalog.regexp_replace("
			 "pg_catalog.pg_get_viewdef($1), ';\\s*$', ''), E' \\n\\t')",
			 1, argtypes, values, NULL);
	if (SPI_processed != 1)
		elog(ERROR, "could not deparse defining view %u", view_relid);
	result = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 1, &isnull));
	result = MemoryContextStrdup(outer, result);
	SPI_finish();
	return result;
}

/*
 * Bring the derived columns of one stream table (pgt_id > 0) or of all of
 * them (pgt_id = 0) in step with the system catalogs: its current name,
 * its defining query as deparsed today, and its sources with the columns it
 * reads, taken from pg_depend of the defining view.
 */
void
DependSync(int64 pgt_id)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(pgt_id)};

	SPI_connect();
	spi_exec("UPDATE pgtrickle.pgt_stream_tables s"
			 "   SET pgt_schema = n.nspname, pgt_name = c.relname,"
			 "       defining_query = pg_catalog.btrim(pg_catalog.regexp_replace("
			 "           pg_catalog.pg_get_viewdef(s.pgt_query_relid), ';\\s*$', ''),"
			 "           E' \\n\\t')"
			 "  FROM pg_catalog.pg_class c"
			 "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
			 " WHERE c.oid = s.pgt_relid AND ($1 = 0 OR s.pgt_id = $1)"
	/* write only what changed: DDL elsewhere must not touch every row */
			 "   AND (s.pgt_schema, s.pgt_name, s.defining_query) IS DISTINCT FROM"
			 "       (n.nspname::pg_catalog.text, c.relname::pg_catalog.text,"
			 "        pg_catalog.btrim(pg_catalog.regexp_replace("
			 "           pg_catalog.pg_get_viewdef(s.pgt_query_relid), ';\\s*$', ''),"
			 "           E' \\n\\t'))"
	/* a query change recreates the view; DDL in between finds none */
			 "   AND EXISTS (SELECT 1 FROM pg_catalog.pg_class v"
			 "               WHERE v.oid = s.pgt_query_relid)",
			 1, argtypes, values, NULL);
	/* upsert: rows keep their capture frontiers across renames */
	/*
	 * The relations the defining view reads, and through the views among
	 * them the relations those read (views on views): a differential refresh
	 * expands views to their definitions (delta/views.c) and captures the
	 * tables under them.
	 */
	spi_exec("WITH RECURSIVE reach(pgt_id, rule_relid) AS ("
			 " SELECT s.pgt_id, s.pgt_query_relid FROM pgtrickle.pgt_stream_tables s"
			 "  WHERE ($1 = 0 OR s.pgt_id = $1)"
			 " UNION"
			 " SELECT x.pgt_id, d.refobjid"
			 "   FROM reach x"
			 "   JOIN pg_catalog.pg_rewrite r ON r.ev_class = x.rule_relid"
			 "   JOIN pg_catalog.pg_depend d"
			 "     ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
			 "    AND d.objid = r.oid"
			 "    AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
			 "    AND d.refobjid <> x.rule_relid"
			 "   JOIN pg_catalog.pg_class c ON c.oid = d.refobjid AND c.relkind = 'v'),"
			 " cur AS ("
			 " SELECT s.pgt_id, d.refobjid AS source_relid,"
			 "        CASE WHEN EXISTS (SELECT 1 FROM pgtrickle.pgt_stream_tables u"
			 "                          WHERE u.pgt_relid = d.refobjid)"
			 "             THEN 'STREAM_TABLE'"
			 "             WHEN c.relkind = 'v' THEN 'VIEW' ELSE 'TABLE' END AS source_type,"
			 "        coalesce(pg_catalog.array_agg(a.attname::pg_catalog.text"
			 "                  ORDER BY a.attnum) FILTER (WHERE a.attname IS NOT NULL),"
			 "                 '{}') AS columns_used"
			 "   FROM (SELECT DISTINCT x.pgt_id, d.refobjid, d.refobjsubid"
			 "           FROM reach x"
			 "           JOIN pg_catalog.pg_rewrite r ON r.ev_class = x.rule_relid"
			 "           JOIN pg_catalog.pg_depend d"
			 "             ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
			 "            AND d.objid = r.oid"
			 "            AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
			 "            AND d.refobjid <> x.rule_relid) d"
			 "   JOIN pgtrickle.pgt_stream_tables s ON s.pgt_id = d.pgt_id"
			 "   JOIN pg_catalog.pg_class c ON c.oid = d.refobjid"
			 "   LEFT JOIN pg_catalog.pg_attribute a"
			 "     ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
			 "    AND d.refobjsubid > 0"
			 "  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')"
			 "  GROUP BY s.pgt_id, d.refobjid, c.relkind),"
			 " gone AS ("
			 " DELETE FROM pgtrickle.pgt_dependencies p"
			 "  WHERE ($1 = 0 OR p.pgt_id = $1)"
			 "    AND EXISTS (SELECT 1 FROM pgtrickle.pgt_stream_tables s"
			 "                 JOIN pg_catalog.pg_class v ON v.oid = s.pgt_query_relid"
			 "                WHERE s.pgt_id = p.pgt_id)"
			 "    AND NOT EXISTS (SELECT 1 FROM cur"
			 "                     WHERE cur.pgt_id = p.pgt_id"
			 "                       AND cur.source_relid = p.source_relid))"
			 " INSERT INTO pgtrickle.pgt_dependencies"
			 "        (pgt_id, source_relid, source_type, cdc_mode, columns_used)"
			 " SELECT pgt_id, source_relid, source_type, 'TRIGGER', columns_used FROM cur"
	/* ON CONFLICT locks the row it meets: leave unchanged rows alone */
			 "  WHERE NOT EXISTS (SELECT 1 FROM pgtrickle.pgt_dependencies p"
			 "                     WHERE p.pgt_id = cur.pgt_id"
			 "                       AND p.source_relid = cur.source_relid"
			 "                       AND p.source_type = cur.source_type"
			 "                       AND p.columns_used = cur.columns_used)"
			 " ON CONFLICT (pgt_id, source_relid) DO UPDATE"
			 "   SET source_type = EXCLUDED.source_type,"
			 "       columns_used = EXCLUDED.columns_used"
			 " WHERE (pgt_dependencies.source_type, pgt_dependencies.columns_used)"
			 "       IS DISTINCT FROM (EXCLUDED.source_type, EXCLUDED.columns_used)",
			 1, argtypes, values, NULL);
	SPI_finish();
}

/*
 * Refuse a stream table (pgt_id, or any: 0) that reads itself, directly or
 * through others.
 * What a relation reads: a stream table, the sources of its defining query
 * (pgt_dependencies); a view, the relations its query reads (the pg_depend
 * rows of its rewrite rule), views on views included.  A materialized view
 * ends the walk: it holds a snapshot that only REFRESH MATERIALIZED VIEW
 * changes, like a table.
 */
void
DependCheckCycle(int64 pgt_id)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(pgt_id)};
	char	   *cycle = NULL;

	SPI_connect();
	/*
	 * What a stream table reads directly: its defining view's rewrite rule
	 * (pgt_dependencies also holds the tables under the views it reads,
	 * which would skip the views in the path named below)
	 */
	spi_exec("WITH RECURSIVE reads(relid, source) AS ("
			 "   SELECT s.pgt_relid, dep.refobjid"
			 "     FROM pgtrickle.pgt_stream_tables s"
			 "     JOIN pg_catalog.pg_rewrite r ON r.ev_class = s.pgt_query_relid"
			 "     JOIN pg_catalog.pg_depend dep"
			 "       ON dep.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
			 "      AND dep.objid = r.oid"
			 "      AND dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
			 "      AND dep.refobjid <> r.ev_class"
			 "  UNION"
			 "   SELECT r.ev_class, dep.refobjid"
			 "     FROM pg_catalog.pg_rewrite r"
			 "     JOIN pg_catalog.pg_class v ON v.oid = r.ev_class AND v.relkind = 'v'"
			 "     JOIN pg_catalog.pg_depend dep"
			 "       ON dep.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
			 "      AND dep.objid = r.oid"
			 "      AND dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
			 "      AND dep.refobjid <> r.ev_class"
			 "      AND dep.deptype = 'n'),"
	/*
	 * which stream tables reach themselves: a set (UNION), so that a graph
	 * with many paths costs its size, not its number of paths
	 */
			 " reach(start, relid) AS ("
			 "   SELECT s.pgt_relid, x.source"
			 "     FROM pgtrickle.pgt_stream_tables s"
			 "     JOIN reads x ON x.relid = s.pgt_relid"
			 "    WHERE $1 = 0 OR s.pgt_id = $1"
			 "  UNION"
			 "   SELECT r.start, x.source"
			 "     FROM reach r JOIN reads x ON x.relid = r.relid"
			 "    WHERE r.relid <> r.start),"
			 " cyc(start) AS ("
			 "   SELECT pg_catalog.min(r.start) FROM reach r WHERE r.relid = r.start),"
	/* a cycle through the first of them, to name it */
			 " walk(relid, path) AS ("
			 "   SELECT x.source, ARRAY[f.start]"
			 "     FROM cyc f JOIN reads x ON x.relid = f.start"
			 "  UNION ALL"
			 "   SELECT x.source, w.path || w.relid"
			 "     FROM walk w"
			 "     JOIN reads x ON x.relid = w.relid"
			 "    WHERE NOT w.relid = ANY (w.path))"
			 " SELECT pg_catalog.array_to_string(ARRAY("
			 "          SELECT r::pg_catalog.regclass::pg_catalog.text"
			 "            FROM pg_catalog.unnest(w.path || w.relid) r), ' -> ')"
			 "   FROM walk w"
			 "  WHERE w.relid = w.path[1]"
			 "  ORDER BY pg_catalog.array_length(w.path, 1)"
			 "  LIMIT 1",
			 1, argtypes, values, NULL);
	if (SPI_processed > 0)
		cycle = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (cycle)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("stream tables would read each other in a cycle"),
				 errdetail("The dependency cycle is %s.", cycle),
				 errhint("A stream table can read other stream tables only when they do not read it back.")));
	SPI_finish();
}

/*
 * Names (schema-qualified, quoted as needed) of the stream tables that read
 * the relation relid directly.
 */
List *
DependReaders(Oid relid)
{
	MemoryContext outer = CurrentMemoryContext;
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	List	   *result = NIL;

	SPI_connect();
	spi_exec("SELECT s.pgt_relid::pg_catalog.regclass::pg_catalog.text"
			 "  FROM pgtrickle.pgt_dependencies d"
			 "  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)"
			 " WHERE d.source_relid = $1 ORDER BY 1",
			 1, argtypes, values, NULL);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i],
										SPI_tuptable->tupdesc, 1);

		result = lappend(result, MemoryContextStrdup(outer, name));
	}
	SPI_finish();
	return result;
}

/*
 * Refuse DDL that took a stream table's columns out of step with its
 * defining query (a dropped, renamed, retyped or added column): refreshes
 * would fail or fill the wrong columns.  Stream tables whose defining view is
 * being replaced (no view right now) are skipped.
 */
void
DependCheckStorageColumns(void)
{
	char	   *problem = NULL;

	SPI_connect();
	spi_exec("WITH sts AS ("
			 "   SELECT s.pgt_relid, s.pgt_query_relid FROM pgtrickle.pgt_stream_tables s"
			 "    WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_class c"
			 "                   WHERE c.oid = s.pgt_query_relid)),"
			 " v AS ("
			 "   SELECT sts.pgt_relid, a.attname, a.atttypid, a.atttypmod, a.attcollation"
			 "     FROM sts JOIN pg_catalog.pg_attribute a ON a.attrelid = sts.pgt_query_relid"
			 "    WHERE a.attnum > 0 AND NOT a.attisdropped),"
			 " t AS ("
			 "   SELECT sts.pgt_relid, a.attname, a.atttypid, a.atttypmod, a.attcollation"
			 "     FROM sts JOIN pg_catalog.pg_attribute a ON a.attrelid = sts.pgt_relid"
			 "    WHERE a.attnum > 0 AND NOT a.attisdropped"
			 "      AND a.attname NOT LIKE '\\_\\_pgt\\_%')"
			 " SELECT pg_catalog.format('%s (column %s)',"
			 "        coalesce(v.pgt_relid, t.pgt_relid)::pg_catalog.regclass,"
			 "        pg_catalog.quote_ident(coalesce(v.attname, t.attname)))"
			 "   FROM v FULL JOIN t ON t.pgt_relid = v.pgt_relid AND t.attname = v.attname"
			 "  WHERE v.attname IS NULL OR t.attname IS NULL"
			 "     OR (t.atttypid, t.atttypmod, t.attcollation)"
			 "        IS DISTINCT FROM (v.atttypid, v.atttypmod, v.attcollation)"
			 "  LIMIT 1",
			 0, NULL, NULL, NULL);
	if (SPI_processed > 0)
		problem = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (problem)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot change the columns of stream table %s", problem),
				 errdetail("The columns of a stream table are those of its defining query."),
				 errhint("Change the query with pgtrickle.alter_stream_table(name, query => ...).")));
	SPI_finish();
}
