/*-------------------------------------------------------------------------
 *
 * full.c
 *	  FULL refresh: recompute the defining query and replace the contents.
 *
 * Old rows are deleted and the new result inserted in the caller's
 * transaction, both statements under the refresh's one snapshot.  Readers
 * keep seeing the old contents until commit and are never blocked: unlike
 * TRUNCATE or a heap swap this needs no ACCESS EXCLUSIVE lock, and there is
 * no moment at which the table looks empty.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "refresh/refresh.h"

/*
 * The statement that fills the stream table from its defining query.  Run
 * under the refresh's pinned search_path, every name in it is qualified.
 */
char *
FullRefreshSql(const StreamTable *st)
{
	List	   *cols = RefreshStorageColumns(st->query_relid);
	StringInfoData list;
	ListCell   *lc;

	initStringInfo(&list);
	foreach(lc, cols)
		appendStringInfo(&list, "%s%s", list.len ? ", " : "",
						 quote_identifier(lfirst(lc)));
	return psprintf("INSERT INTO %s (%s)\nSELECT %s FROM (\n%s\n) q",
					CatalogRelationName(st->relid), list.data, list.data,
					DependViewQuery(st->query_relid));
}

static uint64
execute_at(const char *sql, Snapshot snapshot)
{
	SPIPlanPtr	plan = SPI_prepare(sql, 0, NULL);
	int			rc;

	if (plan == NULL)
		elog(ERROR, "could not prepare refresh statement (%s): %s",
			 SPI_result_code_string(SPI_result), sql);
	rc = SPI_execute_snapshot(plan, NULL, NULL, snapshot, InvalidSnapshot,
							  false, true, 0);
	if (rc < 0)
		elog(ERROR, "refresh statement failed (%s): %s",
			 SPI_result_code_string(rc), sql);
	SPI_freeplan(plan);
	return SPI_processed;
}

void
FullRefreshApply(const StreamTable *st, Snapshot snapshot,
				 int64 *rows_inserted, int64 *rows_deleted)
{
	*rows_deleted = execute_at(psprintf("DELETE FROM %s",
										CatalogRelationName(st->relid)),
							   snapshot);
	*rows_inserted = execute_at(FullRefreshSql(st), snapshot);
}
