/*-------------------------------------------------------------------------
 *
 * pgt_catalog.h
 *	  Reading and writing the pgt_* catalog tables.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGT_CATALOG_H
#define PGT_CATALOG_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "access/tupdesc.h"
#include "executor/spi.h"
#include "nodes/pg_list.h"
#include "utils/tuplestore.h"

/* One row of pgtrickle.pgt_stream_tables. */
typedef struct StreamTable
{
	int64		pgt_id;
	Oid			relid;			/* storage table */
	Oid			query_relid;	/* defining view in pgtrickle_defs */
	char	   *schema;
	char	   *name;
	char	   *defining_query;
	char	   *original_query;
	char	   *schedule;		/* NULL: CALCULATED */
	char	   *refresh_mode;	/* in effect: FULL or DIFFERENTIAL */
	char	   *requested_mode; /* FULL, DIFFERENTIAL or AUTO */
	char	   *status;
	bool		is_populated;
	char	   *cdc_mode;
	int			consecutive_errors;
	char	   *fallback_reason;
} StreamTable;

/* What a finished refresh reports to the catalog. */
typedef struct RefreshOutcome
{
	const char *action;			/* FULL, NO_DATA, DIFFERENTIAL, ... */
	const char *initiated_by;	/* MANUAL, SCHEDULER, INITIAL */
	const char *reason;
	TimestampTz data_timestamp;
	TimestampTz start_time;
	TimestampTz end_time;
	int64		rows_inserted;
	int64		rows_deleted;
	int64		delta_row_count;
} RefreshOutcome;

/* Running SQL as the owner of the catalog (catalog.c). */
typedef struct CatalogAccess
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
} CatalogAccess;

extern char *CatalogRelationName(Oid relid);
extern bool CatalogExists(void);
extern bool CatalogVersionMatches(bool error);
extern const char *CatalogInternalSchema(Oid nsp);
extern void CatalogCheckHome(Oid nsp, const char *relname);
extern void CatalogCheckHomes(void);
extern Oid	CatalogOwner(void);
extern void CatalogBeginAccess(CatalogAccess *acc, const char *search_path);
extern void CatalogEndAccess(CatalogAccess *acc);
extern int	CatalogRun(const char *sql, int nargs, Oid *argtypes, Datum *values,
					   const char *nulls, bool read_only);
extern bool CatalogAny(const char *sql, Oid argtype, Datum arg);
extern SPIPlanPtr CatalogPrepare(const char *sql, int nargs, Oid *argtypes,
								 bool custom);

extern StreamTable *CatalogGetByRelid(Oid relid);
extern StreamTable *CatalogGetById(int64 pgt_id);
extern int	CatalogRecordFailure(int64 pgt_id, TimestampTz started,
								 const char *message, bool transient,
								 int max_errors);
extern void CatalogUpkeep(void);
extern int64 CatalogStartRunning(int64 pgt_id);
extern void CatalogSetRunning(int64 refresh_id);
extern void CatalogEndRunning(int64 refresh_id, bool skipped);
extern void CatalogFailInterrupted(void);
extern int64 CatalogNextId(void);
extern void CatalogInsert(const StreamTable *st);
extern void CatalogSetSchedule(int64 pgt_id, const char *schedule);
extern void CatalogSetModes(int64 pgt_id, const char *mode,
							const char *requested, const char *fallback_reason);
extern void CatalogSetStatus(int64 pgt_id, const char *status, bool clear_errors);
extern void CatalogSetQuery(int64 pgt_id, const char *query, Oid query_relid);
extern void CatalogRecordRefresh(const StreamTable *st, const RefreshOutcome *o);
extern void CatalogRemoveOrphans(void);
extern TransactionId CatalogLatestWriter(int64 pgt_id);
extern bool CatalogRefreshCosts(int64 pgt_id, double *ms_per_row,
								double *full_ms);
extern List *CatalogSourceRelids(int64 pgt_id);
extern char *CatalogSourcesText(int64 pgt_id);
extern char *CatalogEffectiveSchedule(int64 pgt_id);
extern void CatalogHistory(int64 pgt_id, int max_rows,
						   Tuplestorestate *store, TupleDesc desc);

/* depend.c: the defining view, pg_depend and pgt_dependencies */
extern Oid	DependCreateDefiningView(int64 pgt_id, const char *query,
									 const char *search_path, Oid storage_relid);
extern void DependReplaceDefiningView(Oid view_relid, const char *query,
									  const char *search_path);
extern void DependDropDefiningView(Oid view_relid, Oid storage_relid);
extern void DependSync(int64 pgt_id);
extern void DependCheckCycle(int64 pgt_id);

/* viewsource.c */
extern void DependViewsReplaced(void);
extern void DependCheckStorageColumns(void);
extern List *DependReaders(Oid relid);
extern char *DependViewQuery(Oid view_relid);

/*
 * restore.c: catalog rows a dump brings back.  SQL condition on catalog row
 * alias s: the row is armed, in step with this database's objects.  Only
 * pg_trickle records the internal dependency of a defining view on its
 * storage table; pg_dump and pg_upgrade recreate the two relations without
 * it, so its presence says the row's OIDs, dependencies and capture were
 * set up in this database.
 */
#define CATALOG_ARMED(s) \
	"EXISTS (SELECT 1 FROM pg_catalog.pg_depend armed" \
	" WHERE armed.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass" \
	"   AND armed.objid OPERATOR(pg_catalog.=) " s ".pgt_query_relid" \
	"   AND armed.objsubid OPERATOR(pg_catalog.=) 0" \
	"   AND armed.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass" \
	"   AND armed.refobjid OPERATOR(pg_catalog.=) " s ".pgt_relid" \
	"   AND armed.refobjsubid OPERATOR(pg_catalog.=) 0" \
	"   AND armed.deptype OPERATOR(pg_catalog.=) 'i')"

extern bool RestoreIsArmed(int64 pgt_id);
extern bool RestoreRelationArmed(Oid relid);
extern void RestoreRearm(int64 pgt_id);
extern int	RestoreRearmReady(void);

#endif							/* PGT_CATALOG_H */
