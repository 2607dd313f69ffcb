/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  The only code that reads and writes rows of the pgt_* catalog tables.
 *
 * The catalog is readable by PUBLIC but written only by the extension, so
 * every statement here runs as the owner of the catalog (the role that
 * created the extension) with search_path fixed to pg_catalog: a caller's
 * search_path must never decide which operator or function runs with the
 * catalog owner's rights.  Each function opens its own SPI connection and
 * hands back results allocated in the caller's memory context.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "catalog/pgt_catalog.h"
#include "compat.h"
#include "scheduler/worker.h"

#define ST_COLUMNS \
	"pgt_id, pgt_relid, pgt_query_relid, pgt_schema, pgt_name, " \
	"defining_query, original_query, schedule, refresh_mode, " \
	"requested_refresh_mode, status, is_populated, cdc_mode, " \
	"consecutive_errors, fallback_reason"

/* A relation's current name, schema-qualified and quoted as needed. */
char *
CatalogRelationName(Oid relid)
{
	char	   *name = get_rel_name(relid);

	if (name == NULL)
		elog(ERROR, "cache lookup failed for relation %u", relid);
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  name);
}

static Oid
catalog_relid(void)
{
	Oid			nsp = get_namespace_oid("pgtrickle", true);

	if (!OidIsValid(nsp))
		return InvalidOid;
	return get_relname_relid("pgt_stream_tables", nsp);
}

/*
 * Schemas that can never be the home of a stream table: the system's own
 * and pg_trickle's internal ones.  A stream table there would be written by
 * nobody's rules: pg_trickle's schemas hold only objects it manages (their
 * names are derived from OIDs and pgt_ids; a user table there collides with
 * them), and the system schemas are not for user tables at all.
 */
static const char *const internal_schemas[] = {
	"pg_catalog", "pg_toast", "information_schema",
	"pgtrickle", "pgtrickle_changes", "pgtrickle_defs"
};

/* The name of namespace nsp if it is an internal schema, else NULL. */
const char *
CatalogInternalSchema(Oid nsp)
{
	char	   *name;

	name = get_namespace_name(nsp);
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < lengthof(internal_schemas); i++)
		if (strcmp(name, internal_schemas[i]) == 0)
			return name;
	return NULL;
}

/*
 * Refuse an internal schema as the home of stream table relname (42501,
 * as PostgreSQL refuses user tables in pg_catalog).
 */
void
CatalogCheckHome(Oid nsp, const char *relname)
{
	const char *schema = CatalogInternalSchema(nsp);

	if (schema != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("stream table \"%s\" cannot be placed in schema \"%s\"",
						relname, schema),
				 errdetail("Schema \"%s\" is reserved for %s.", schema,
						   strncmp(schema, "pgtrickle", 9) == 0 ?
						   "pg_trickle's own objects" : "the system's own objects"),
				 errhint("Put the stream table in a schema of your own.")));
}

/*
 * At ddl_command_end: refuse a stream table that the command moved into an
 * internal schema (ALTER TABLE ... SET SCHEMA).
 */
void
CatalogCheckHomes(void)
{
	SPI_connect();
	CatalogRun("SELECT c.relnamespace, c.relname::pg_catalog.text"
			   "  FROM pg_catalog.pg_event_trigger_ddl_commands() e"
			   "  JOIN pgtrickle.pgt_stream_tables s ON s.pgt_relid = e.objid"
			   "  JOIN pg_catalog.pg_class c ON c.oid = s.pgt_relid"
			   "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
			   " WHERE e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
			   "   AND n.nspname IN ('pg_catalog', 'pg_toast', 'information_schema',"
			   "                     'pgtrickle', 'pgtrickle_changes', 'pgtrickle_defs')"
			   " LIMIT 1",
			   0, NULL, NULL, NULL, false);
	if (SPI_processed > 0)
	{
		bool		isnull;
		Oid			nsp = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
														 SPI_tuptable->tupdesc, 1, &isnull));
		char	   *relname = SPI_getvalue(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 2);

		CatalogCheckHome(nsp, relname);
	}
	SPI_finish();
}

/*
 * Whether the extension's catalog exists in this database (event triggers
 * fire while DROP EXTENSION is removing it).
 */
bool
CatalogExists(void)
{
	return OidIsValid(catalog_relid());
}

#ifndef PGT_EXTVERSION
#error "PGT_EXTVERSION (pg_trickle.control's default_version) must be defined by the Makefile"
#endif
StaticAssertDecl(sizeof(PGT_EXTVERSION) > 1, "PGT_EXTVERSION is empty");

/*
 * The version of the extension's SQL objects in this database, NULL when it
 * is not installed.
 */
static char *
installed_version(void)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	char	   *version = NULL;

	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("pg_trickle"));
	rel = table_open(ExtensionRelationId, AccessShareLock);
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_pg_extension_extversion,
									 RelationGetDescr(rel), &isnull);

		if (!isnull)
			version = text_to_cstring(DatumGetTextPP(d));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return version;
}

/*
 * Whether the SQL objects in this database are those this library was built
 * for (PGT_EXTVERSION).  After a package upgrade the new library meets the
 * old catalog until ALTER EXTENSION pg_trickle UPDATE; until then the API
 * refuses with a hint (error) and the scheduler leaves the database alone.
 * Writers are never refused: capture works on the old catalog.  A backend
 * that saw the versions match does not look again (an update never goes
 * back, and a downgrade means a new library, so a new backend).
 */
bool
CatalogVersionMatches(bool error)
{
	static bool matched = false;
	char	   *installed;

	if (matched)
		return true;
	installed = installed_version();
	if (installed == NULL)
		return false;
	if (strcmp(installed, PGT_EXTVERSION) == 0)
	{
		matched = true;
		return true;
	}
	if (error)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_trickle %s is installed in this database, but the library is version %s",
						installed, PGT_EXTVERSION),
				 errhint("Run ALTER EXTENSION pg_trickle UPDATE.")));
	return false;
}

Oid
CatalogOwner(void)
{
	Oid			relid = catalog_relid();
	HeapTuple	tup;
	Oid			owner;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"pg_trickle\" is not installed in this database")));
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * Switch to the catalog owner with search_path pinned: to pg_catalog, or,
 * when creating a defining view, to the caller's path spelled out (names in
 * the user's query resolve as the user wrote them; parse analysis runs no
 * user code).
 */
void
CatalogBeginAccess(CatalogAccess *acc, const char *search_path)
{
	GetUserIdAndSecContext(&acc->save_userid, &acc->save_sec_context);
	SetUserIdAndSecContext(CatalogOwner(),
						   acc->save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	acc->save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path",
							 search_path ? search_path : PGT_SAFE_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

void
CatalogEndAccess(CatalogAccess *acc)
{
	AtEOXact_GUC(true, acc->save_nestlevel);
	SetUserIdAndSecContext(acc->save_userid, acc->save_sec_context);
}

/*
 * The extension's own statements (catalog, capture) are few and run again
 * and again by the scheduler's workers, so each backend keeps their plans
 * instead of parsing and planning them at every refresh.  PostgreSQL's plan
 * cache replans a kept plan when a table it uses changes (a buffer dropped
 * and created again), so the text alone identifies an entry.  Statements
 * that name a particular object (a buffer's DDL) come and go: past
 * STATEMENT_CACHE_SIZE entries the cache starts over.
 */
#define STATEMENT_CACHE_SIZE 256

typedef struct CachedStatement
{
	char	   *sql;
	int			nargs;
	Oid		   *argtypes;
	bool		custom;
	SPIPlanPtr	plan;
} CachedStatement;

static List *statement_cache = NIL;

/*
 * A kept plan of sql with these argument types.  Call inside
 * CatalogBeginAccess, so that it is planned with the pinned search_path it
 * will run with.  With custom, the statement is planned anew for each
 * execution with its parameter values (only parsing is saved): for
 * statements over change buffers, whose best plan depends on how many rows
 * the values select.
 */
SPIPlanPtr
CatalogPrepare(const char *sql, int nargs, Oid *argtypes, bool custom)
{
	ListCell   *lc;
	CachedStatement *cs;
	SPIPlanPtr	plan;
	MemoryContext old;

	foreach(lc, statement_cache)
	{
		cs = lfirst(lc);
		if (cs->nargs == nargs && cs->custom == custom && strcmp(cs->sql, sql) == 0 &&
			(nargs == 0 || memcmp(cs->argtypes, argtypes, sizeof(Oid) * nargs) == 0))
			return cs->plan;
	}

	plan = SPI_prepare_cursor(sql, nargs, argtypes,
							  custom ? CURSOR_OPT_CUSTOM_PLAN : 0);
	if (plan == NULL)
		elog(ERROR, "could not prepare statement (%s): %s",
			 SPI_result_code_string(SPI_result), sql);
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "could not keep the plan of: %s", sql);

	if (list_length(statement_cache) >= STATEMENT_CACHE_SIZE)
	{
		foreach(lc, statement_cache)
		{
			cs = lfirst(lc);
			SPI_freeplan(cs->plan);
			pfree(cs->sql);
			if (cs->argtypes)
				pfree(cs->argtypes);
		}
		list_free_deep(statement_cache);
		statement_cache = NIL;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	cs = palloc(sizeof(CachedStatement));
	cs->sql = pstrdup(sql);
	cs->nargs = nargs;
	cs->custom = custom;
	cs->argtypes = NULL;
	if (nargs > 0)
	{
		cs->argtypes = palloc(sizeof(Oid) * nargs);
		memcpy(cs->argtypes, argtypes, sizeof(Oid) * nargs);
	}
	cs->plan = plan;
	statement_cache = lappend(statement_cache, cs);
	MemoryContextSwitchTo(old);
	return plan;
}

/*
 * Run one statement of the extension's own (a kept plan) as the catalog
 * owner, search_path pinned.  Results stay in SPI_tuptable until the
 * caller's SPI_finish.  Returns the SPI result code.
 */
int
CatalogRun(const char *sql, int nargs, Oid *argtypes, Datum *values,
		   const char *nulls, bool read_only)
{
	CatalogAccess acc;
	int			rc;

	CatalogBeginAccess(&acc, NULL);
	rc = SPI_execute_plan(CatalogPrepare(sql, nargs, argtypes, false), values,
						  nulls, read_only, 0);
	CatalogEndAccess(&acc);
	if (rc < 0)
		elog(ERROR, "pg_trickle statement failed (%s): %s",
			 SPI_result_code_string(rc), sql);
	return rc;
}

/*
 * The pgt_ids (first column, int8) a catalog query without arguments
 * returns, as a list of palloc'd int64 in the caller's memory context.
 */
List *
CatalogIds(const char *sql)
{
	MemoryContext outer = CurrentMemoryContext;
	List	   *ids = NIL;

	SPI_connect();
	CatalogRun(sql, 0, NULL, NULL, NULL, false);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
													 SPI_tuptable->tupdesc, 1, &isnull));
		MemoryContext spi = MemoryContextSwitchTo(outer);
		int64	   *p = palloc(sizeof(int64));

		*p = id;
		ids = lappend(ids, p);
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	return ids;
}

/* Whether a read-only catalog query of one argument returns a row. */
bool
CatalogAny(const char *sql, Oid argtype, Datum arg)
{
	bool		found;

	SPI_connect();
	CatalogRun(sql, 1, &argtype, &arg, NULL, true);
	found = SPI_processed > 0;
	SPI_finish();
	return found;
}

/* CatalogRun, checking how many rows the statement touched. */
static void
catalog_exec(const char *sql, int nargs, Oid *argtypes, Datum *values,
			 const char *nulls, int expected)
{
	CatalogRun(sql, nargs, argtypes, values, nulls, false);
	if (expected >= 0 && SPI_processed != (uint64) expected)
		elog(ERROR, "catalog statement touched " UINT64_FORMAT " rows instead of %d: %s",
			 SPI_processed, expected, sql);
}

static char *
get_text(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static StreamTable *
tuple_to_stream_table(HeapTuple tup, TupleDesc desc)
{
	StreamTable *st = palloc0(sizeof(StreamTable));
	bool		isnull;

	st->pgt_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	st->relid = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
	st->query_relid = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
	st->schema = get_text(tup, desc, 4);
	st->name = get_text(tup, desc, 5);
	st->defining_query = get_text(tup, desc, 6);
	st->original_query = get_text(tup, desc, 7);
	st->schedule = get_text(tup, desc, 8);
	st->refresh_mode = get_text(tup, desc, 9);
	st->requested_mode = get_text(tup, desc, 10);
	st->status = get_text(tup, desc, 11);
	st->is_populated = DatumGetBool(SPI_getbinval(tup, desc, 12, &isnull));
	st->cdc_mode = get_text(tup, desc, 13);
	st->consecutive_errors = DatumGetInt32(SPI_getbinval(tup, desc, 14, &isnull));
	st->fallback_reason = get_text(tup, desc, 15);
	return st;
}

/* The catalog row matching "column = value", or NULL. */
static StreamTable *
get_stream_table(const char *column, Oid type, Datum value)
{
	MemoryContext outer = CurrentMemoryContext;
	StreamTable *st = NULL;
	Oid			argtypes[1] = {type};
	Datum		values[1] = {value};

	SPI_connect();
	catalog_exec(psprintf("SELECT " ST_COLUMNS " FROM pgtrickle.pgt_stream_tables"
						  " WHERE %s = $1", column),
				 1, argtypes, values, NULL, -1);
	if (SPI_processed > 0)
	{
		MemoryContext spi = MemoryContextSwitchTo(outer);

		st = tuple_to_stream_table(SPI_tuptable->vals[0], SPI_tuptable->tupdesc);
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	return st;
}

/*
 * The catalog row of the stream table stored in relid, or NULL when relid is
 * not a stream table.
 */
StreamTable *
CatalogGetByRelid(Oid relid)
{
	MemoryContext outer = CurrentMemoryContext;
	StreamTable *st = NULL;
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};

	/*
	 * A row a restore brought back and nobody re-armed yet (restore.c) may
	 * still name an OID of the dumped database, perhaps one that is another
	 * relation here: it is found by its names instead.
	 */
	SPI_connect();
	catalog_exec("(SELECT " ST_COLUMNS " FROM pgtrickle.pgt_stream_tables s"
				 "  WHERE s.pgt_relid = $1 AND " CATALOG_ARMED("s") ")"
				 " UNION ALL "
				 "(SELECT " ST_COLUMNS " FROM pgtrickle.pgt_stream_tables s"
				 "  WHERE (s.pgt_schema, s.pgt_name) ="
				 "        (SELECT n.nspname::pg_catalog.text, c.relname::pg_catalog.text"
				 "           FROM pg_catalog.pg_class c"
				 "           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
				 "          WHERE c.oid = $1)"
				 "    AND NOT " CATALOG_ARMED("s") ")"
				 " LIMIT 1",
				 1, argtypes, values, NULL, -1);
	if (SPI_processed > 0)
	{
		MemoryContext spi = MemoryContextSwitchTo(outer);

		st = tuple_to_stream_table(SPI_tuptable->vals[0], SPI_tuptable->tupdesc);
		st->relid = relid;
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	return st;
}

int64
CatalogNextId(void)
{
	int64		id;
	bool		isnull;

	SPI_connect();
	catalog_exec("SELECT pg_catalog.nextval('pgtrickle.pgt_stream_tables_pgt_id_seq')",
				 0, NULL, NULL, NULL, 1);
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
									 SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return id;
}

static Datum
text_or_null(const char *s, char *null)
{
	*null = s ? ' ' : 'n';
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

void
CatalogInsert(const StreamTable *st)
{
	Oid			argtypes[13] = {INT8OID, OIDOID, OIDOID, TEXTOID, TEXTOID,
		TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[13];
	char		nulls[14] = "             ";

	values[0] = Int64GetDatum(st->pgt_id);
	values[1] = ObjectIdGetDatum(st->relid);
	values[2] = ObjectIdGetDatum(st->query_relid);
	values[3] = text_or_null(st->schema, &nulls[3]);
	values[4] = text_or_null(st->name, &nulls[4]);
	values[5] = text_or_null(st->original_query, &nulls[5]);
	values[6] = text_or_null(st->schedule, &nulls[6]);
	values[7] = text_or_null(st->refresh_mode, &nulls[7]);
	values[8] = text_or_null(st->requested_mode, &nulls[8]);
	values[9] = text_or_null(st->status, &nulls[9]);
	values[10] = text_or_null(st->cdc_mode, &nulls[10]);
	values[11] = text_or_null(st->fallback_reason, &nulls[11]);
	values[12] = text_or_null(st->original_query, &nulls[12]);

	SPI_connect();
	/* defining_query starts as the original text; DependSync deparses it */
	catalog_exec("INSERT INTO pgtrickle.pgt_stream_tables"
				 " (pgt_id, pgt_relid, pgt_query_relid, pgt_schema, pgt_name,"
				 "  defining_query, original_query, schedule, refresh_mode,"
				 "  requested_refresh_mode, status, cdc_mode, fallback_reason)"
				 " VALUES ($1, $2, $3, $4, $5, $13, $6, $7, $8, $9, $10, $11, $12)",
				 13, argtypes, values, nulls, 1);
	SPI_finish();
	/* a sleeping scheduler has new work once this commits */
	LauncherWakeAtCommit();
}

void
CatalogSetSchedule(int64 pgt_id, const char *schedule)
{
	Oid			argtypes[2] = {INT8OID, TEXTOID};
	Datum		values[2];
	char		nulls[3] = "  ";

	values[0] = Int64GetDatum(pgt_id);
	values[1] = text_or_null(schedule, &nulls[1]);
	SPI_connect();
	catalog_exec("UPDATE pgtrickle.pgt_stream_tables"
				 " SET schedule = $2, updated_at = pg_catalog.now()"
				 " WHERE pgt_id = $1",
				 2, argtypes, values, nulls, 1);
	SPI_finish();
	/* maybe due sooner than a sleeping scheduler wakes */
	LauncherWakeAtCommit();
}

void
CatalogSetModes(int64 pgt_id, const char *mode, const char *requested,
				const char *fallback_reason)
{
	Oid			argtypes[4] = {INT8OID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[4];
	char		nulls[5] = "    ";

	values[0] = Int64GetDatum(pgt_id);
	values[1] = CStringGetTextDatum(mode);
	values[2] = CStringGetTextDatum(requested);
	values[3] = text_or_null(fallback_reason, &nulls[3]);
	SPI_connect();
	catalog_exec("UPDATE pgtrickle.pgt_stream_tables"
				 " SET refresh_mode = $2, requested_refresh_mode = $3,"
				 "     fallback_reason = $4, updated_at = pg_catalog.now()"
				 " WHERE pgt_id = $1",
				 4, argtypes, values, nulls, 1);
	SPI_finish();
}

/*
 * Set the status.  clear_errors also forgets the error state (resume).
 */
void
CatalogSetStatus(int64 pgt_id, const char *status, bool clear_errors)
{
	Oid			argtypes[3] = {INT8OID, TEXTOID, BOOLOID};
	Datum		values[3];

	values[0] = Int64GetDatum(pgt_id);
	values[1] = CStringGetTextDatum(status);
	values[2] = BoolGetDatum(clear_errors);
	SPI_connect();
	catalog_exec("UPDATE pgtrickle.pgt_stream_tables"
				 " SET status = $2, updated_at = pg_catalog.now(),"
				 "     consecutive_errors = CASE WHEN $3 THEN 0 ELSE consecutive_errors END,"
				 "     last_error_message = CASE WHEN $3 THEN NULL ELSE last_error_message END,"
				 "     last_error_at = CASE WHEN $3 THEN NULL ELSE last_error_at END"
				 " WHERE pgt_id = $1",
				 3, argtypes, values, NULL, 1);
	SPI_finish();
	/* resumed: the scheduler has work again */
	if (strcmp(status, "ACTIVE") == 0 || strcmp(status, "INITIALIZING") == 0)
		LauncherWakeAtCommit();
}

/*
 * A new defining query: the text as given, and its (maybe new) view.
 */
void
CatalogSetQuery(int64 pgt_id, const char *query, Oid query_relid)
{
	Oid			argtypes[3] = {INT8OID, TEXTOID, OIDOID};
	Datum		values[3];

	values[0] = Int64GetDatum(pgt_id);
	values[1] = CStringGetTextDatum(query);
	values[2] = ObjectIdGetDatum(query_relid);
	SPI_connect();
	catalog_exec("UPDATE pgtrickle.pgt_stream_tables"
				 " SET original_query = $2, pgt_query_relid = $3,"
				 "     updated_at = pg_catalog.now()"
				 " WHERE pgt_id = $1",
				 3, argtypes, values, NULL, 1);
	SPI_finish();
}

/*
 * The scheduler announces a refresh with a RUNNING history row, committed
 * before the refresh starts, so that a refresh cut off by a crash leaves a
 * trace (_fail_interrupted_refreshes marks it FAILED).  The refresh then
 * completes that row instead of adding one.
 */
static int64 running_refresh_id = 0;

int64
CatalogStartRunning(int64 pgt_id)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(pgt_id)};
	int64		id = 0;

	SPI_connect();
	catalog_exec("INSERT INTO pgtrickle.pgt_refresh_history"
				 " (pgt_id, start_time, action, status, initiated_by, reason)"
				 " SELECT pgt_id, pg_catalog.clock_timestamp(), refresh_mode, 'RUNNING',"
				 "        'SCHEDULER', 'scheduled'"
				 "   FROM pgtrickle.pgt_stream_tables WHERE pgt_id = $1"
				 " RETURNING refresh_id",
				 1, argtypes, values, NULL, -1);
	if (SPI_processed > 0)
	{
		bool		isnull;

		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										 SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	return id;
}

void
CatalogSetRunning(int64 refresh_id)
{
	running_refresh_id = refresh_id;
}

/*
 * Close the announcement of a scheduled refresh that did not run: SKIPPED
 * when the table was held by another session (a manual refresh, an ALTER;
 * it is tried again at the next round), gone when the table was paused or
 * dropped in the meantime.
 */
void
CatalogEndRunning(int64 refresh_id, bool skipped)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(refresh_id)};

	SPI_connect();
	catalog_exec(skipped ?
				 "UPDATE pgtrickle.pgt_refresh_history"
				 " SET status = 'SKIPPED', action = 'SKIP',"
				 "     end_time = pg_catalog.clock_timestamp(),"
				 "     reason = 'another session holds the stream table; next round'"
				 " WHERE refresh_id = $1 AND status = 'RUNNING'" :
				 "DELETE FROM pgtrickle.pgt_refresh_history"
				 " WHERE refresh_id = $1 AND status = 'RUNNING'",
				 1, argtypes, values, NULL, -1);
	SPI_finish();
}

/*
 * Record a successful refresh: its history row, and the new state of the
 * stream table (populated, fresh as of data_timestamp, errors forgotten).
 */
void
CatalogRecordRefresh(const StreamTable *st, const RefreshOutcome *o)
{
	Oid			argtypes[11] = {INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID,
		TIMESTAMPTZOID, TEXTOID, INT8OID, INT8OID, INT8OID, TEXTOID, TEXTOID,
	BOOLOID};
	Datum		values[11];
	char		nulls[12] = "           ";

	values[0] = Int64GetDatum(st->pgt_id);
	values[1] = TimestampTzGetDatum(o->data_timestamp);
	values[2] = TimestampTzGetDatum(o->start_time);
	values[3] = TimestampTzGetDatum(o->end_time);
	values[4] = CStringGetTextDatum(o->action);
	values[5] = Int64GetDatum(o->rows_inserted);
	values[6] = Int64GetDatum(o->rows_deleted);
	values[7] = Int64GetDatum(o->delta_row_count);
	values[8] = CStringGetTextDatum(o->initiated_by);
	values[9] = text_or_null(o->reason, &nulls[9]);
	/* a refresh that changed nothing still proves freshness */
	values[10] = BoolGetDatum(true);

	SPI_connect();
	if (running_refresh_id > 0 && strcmp(o->initiated_by, "SCHEDULER") == 0)
	{
		Oid			types2[12];
		Datum		values2[12];
		char		nulls2[13];

		memcpy(types2, argtypes, sizeof(argtypes));
		memcpy(values2, values, sizeof(values));
		memcpy(nulls2, nulls, sizeof(nulls));
		types2[11] = INT8OID;
		values2[11] = Int64GetDatum(running_refresh_id);
		nulls2[11] = ' ';
		nulls2[12] = '\0';
		catalog_exec("UPDATE pgtrickle.pgt_refresh_history"
					 " SET data_timestamp = $2, end_time = $4, action = $5,"
					 "     status = 'COMPLETED', rows_inserted = $6, rows_deleted = $7,"
					 "     delta_row_count = $8, reason = $10"
					 " WHERE refresh_id = $12",
					 12, types2, values2, nulls2, 1);
	}
	else
		catalog_exec("INSERT INTO pgtrickle.pgt_refresh_history"
					 " (pgt_id, data_timestamp, start_time, end_time, action, status,"
					 "  rows_inserted, rows_deleted, delta_row_count, initiated_by, reason)"
					 " VALUES ($1, $2, $3, $4, $5, 'COMPLETED', $6, $7, $8, $9, $10)",
					 11, argtypes, values, nulls, 1);
	catalog_exec("UPDATE pgtrickle.pgt_stream_tables"
				 " SET data_timestamp = $2, last_refresh_at = $4,"
				 "     is_populated = $11, consecutive_errors = 0,"
				 "     status = CASE status WHEN 'INITIALIZING' THEN 'ACTIVE'"
				 "                          ELSE status END"
				 " WHERE pgt_id = $1",
				 11, argtypes, values, nulls, 1);
	SPI_finish();
}

/*
 * Forget stream tables whose storage table is gone, whatever dropped it
 * (drop_stream_table, DROP TABLE, DROP ... CASCADE of a source, DROP OWNED,
 * DROP SCHEMA).  Their dependencies and history go with them.
 */
void
CatalogRemoveOrphans(void)
{
	SPI_connect();
	/* a restored row not re-armed yet may name the dumped database's OIDs */
	catalog_exec("DELETE FROM pgtrickle.pgt_stream_tables s"
				 " WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c"
				 "                   WHERE c.oid = s.pgt_relid)"
				 "   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c"
				 "                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
				 "                    WHERE n.nspname = s.pgt_schema AND c.relname = s.pgt_name)",
				 0, NULL, NULL, NULL, -1);
	SPI_finish();
}

/* One text value from a one-row, one-column catalog query on pgt_id. */
static char *
catalog_text(const char *sql, int64 pgt_id)
{
	MemoryContext outer = CurrentMemoryContext;
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(pgt_id)};
	char	   *result = NULL;

	SPI_connect();
	catalog_exec(sql, 1, argtypes, values, NULL, -1);
	if (SPI_processed > 0)
	{
		char	   *value = SPI_getvalue(SPI_tuptable->vals[0],
										 SPI_tuptable->tupdesc, 1);

		if (value != NULL)
			result = MemoryContextStrdup(outer, value);
	}
	SPI_finish();
	return result;
}

/* The sources of a stream table, for explain_st. */
char *
CatalogSourcesText(int64 pgt_id)
{
	return catalog_text("SELECT pg_catalog.string_agg(pg_catalog.format('%s (%s%s)',"
						"         d.source_relid::pg_catalog.regclass, d.source_type,"
						"         CASE WHEN pg_catalog.cardinality(d.columns_used) > 0"
						"              THEN ': ' OPERATOR(pg_catalog.||) pg_catalog.array_to_string(d.columns_used, ', ')"
						"              ELSE '' END), '; '"
						"         ORDER BY d.source_relid::pg_catalog.regclass::pg_catalog.text)"
						"  FROM pgtrickle.pgt_dependencies d WHERE d.pgt_id = $1",
						pgt_id);
}

/* The schedule in effect (CALCULATED resolved). */
char *
CatalogEffectiveSchedule(int64 pgt_id)
{
	return catalog_text("SELECT effective_schedule"
						"  FROM pgtrickle._effective_schedule($1)",
						pgt_id);
}

/* The latest refresh attempts, newest first, into a tuplestore. */
void
CatalogHistory(int64 pgt_id, int max_rows, Tuplestorestate *store,
			   TupleDesc desc)
{
	Oid			argtypes[2] = {INT8OID, INT4OID};
	Datum		values[2];

	values[0] = Int64GetDatum(pgt_id);
	values[1] = Int32GetDatum(max_rows);
	SPI_connect();
	catalog_exec("SELECT refresh_id, data_timestamp, start_time, end_time,"
				 "       action, status, rows_inserted, rows_deleted,"
				 "       (EXTRACT(epoch FROM end_time - start_time)"
				 "        * 1000)::pg_catalog.float8,"
				 "       error_message, initiated_by"
				 "  FROM pgtrickle.pgt_refresh_history"
				 " WHERE pgt_id = $1"
				 " ORDER BY refresh_id DESC LIMIT $2",
				 2, argtypes, values, NULL, -1);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		row[11];
		bool		nulls[11];

		for (int c = 0; c < 11; c++)
			row[c] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
								   c + 1, &nulls[c]);
		tuplestore_putvalues(store, desc, row, nulls);
	}
	SPI_finish();
}

/*
 * What refreshes of a stream table cost lately, from its history: the
 * milliseconds per change row of its recent DIFFERENTIAL refreshes (of at
 * least 1,000 rows, so that the fixed cost of a refresh does not dominate:
 * extrapolated from 100 rows it made 1 % change sets recompute at five
 * times the cost of their delta; below that the planner decides)
 * and the median duration of its recent full recomputations.  False when
 * either is unknown.
 */
bool
CatalogRefreshCosts(int64 pgt_id, double *ms_per_row, double *full_ms)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(pgt_id)};
	CatalogAccess acc;
	bool		known = false;

	SPI_connect();
	CatalogBeginAccess(&acc, NULL);
	if (SPI_execute_plan(CatalogPrepare(
						 "WITH h AS ("
						 "  SELECT action, delta_row_count,"
						 "         pg_catalog.date_part('epoch', end_time - start_time) * 1000 AS ms"
						 "    FROM pgtrickle.pgt_refresh_history"
						 "   WHERE pgt_id = $1 AND status = 'COMPLETED'"
						 "   ORDER BY refresh_id DESC LIMIT 50)"
						 " SELECT (SELECT pg_catalog.sum(ms) / pg_catalog.sum(delta_row_count)::pg_catalog.float8"
						 "           FROM (SELECT * FROM h WHERE action = 'DIFFERENTIAL'"
						 "                    AND delta_row_count >= 1000 LIMIT 5) x),"
						 "        (SELECT pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)"
						 "           FROM (SELECT * FROM h WHERE action IN ('FULL', 'REINITIALIZE')"
						 "                 LIMIT 3) y)",
						 1, argtypes, false), values, NULL, true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
	{
		bool		null1;
		bool		null2;
		Datum		d1 = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &null1);
		Datum		d2 = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &null2);

		if (!null1 && !null2)
		{
			*ms_per_row = DatumGetFloat8(d1);
			*full_ms = DatumGetFloat8(d2);
			known = true;
		}
	}
	CatalogEndAccess(&acc);
	SPI_finish();
	return known;
}

/*
 * The transaction that last wrote a stream table's catalog row (every
 * refresh does), read at the latest snapshot rather than the transaction's.
 */
TransactionId
CatalogLatestWriter(int64 pgt_id)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(pgt_id)};
	SPIPlanPtr	plan;
	TransactionId xid = InvalidTransactionId;
	CatalogAccess acc;

	SPI_connect();
	CatalogBeginAccess(&acc, NULL);
	plan = SPI_prepare("SELECT xmin::text::bigint FROM pgtrickle.pgt_stream_tables"
					   " WHERE pgt_id = $1", 1, argtypes);
	if (plan == NULL ||
		SPI_execute_snapshot(plan, values, NULL, GetLatestSnapshot(),
							 InvalidSnapshot, true, false, 1) < 0)
		elog(ERROR, "could not read the catalog row of stream table " INT64_FORMAT,
			 pgt_id);
	CatalogEndAccess(&acc);
	if (SPI_processed > 0)
	{
		bool		isnull;

		xid = (TransactionId) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
														  SPI_tuptable->tupdesc,
														  1, &isnull));
	}
	SPI_finish();
	return xid;
}

/* The relations a stream table reads directly (pgt_dependencies). */
List *
CatalogSourceRelids(int64 pgt_id)
{
	MemoryContext outer = CurrentMemoryContext;
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(pgt_id)};
	List	   *result = NIL;

	SPI_connect();
	catalog_exec("SELECT source_relid FROM pgtrickle.pgt_dependencies"
				 " WHERE pgt_id = $1 ORDER BY source_relid",
				 1, argtypes, values, NULL, -1);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc, 1, &isnull));
		MemoryContext spi = MemoryContextSwitchTo(outer);

		result = lappend_oid(result, relid);
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	return result;
}

/* The catalog row of a stream table by id, or NULL. */
StreamTable *
CatalogGetById(int64 pgt_id)
{
	return get_stream_table("pgt_id", INT8OID, Int64GetDatum(pgt_id));
}

/*
 * Record a failed scheduled refresh: a FAILED history row and the error
 * state.  An error that retrying cannot heal sets ERROR; a transient one
 * counts, and SUSPENDED follows after max_errors in a row.  Returns the
 * number of consecutive errors.
 */
int
CatalogRecordFailure(int64 pgt_id, TimestampTz started, const char *message,
					 bool transient, int max_errors)
{
	Oid			argtypes[5] = {INT8OID, TIMESTAMPTZOID, TEXTOID, BOOLOID, INT4OID};
	Datum		values[5];
	int			errors = 0;

	values[0] = Int64GetDatum(pgt_id);
	values[1] = TimestampTzGetDatum(started);
	values[2] = CStringGetTextDatum(message ? message : "unknown error");
	values[3] = BoolGetDatum(transient);
	values[4] = Int32GetDatum(max_errors);
	SPI_connect();
	if (running_refresh_id > 0)
	{
		Oid			types2[3] = {INT8OID, TEXTOID, BOOLOID};
		Datum		values2[3];

		values2[0] = Int64GetDatum(running_refresh_id);
		values2[1] = values[2];
		values2[2] = values[3];
		catalog_exec("UPDATE pgtrickle.pgt_refresh_history"
					 " SET status = 'FAILED', end_time = pg_catalog.clock_timestamp(),"
					 "     error_message = $2,"
					 "     reason = CASE WHEN $3 THEN 'transient error: will retry'"
					 "                   ELSE 'the query fails: needs attention' END"
					 " WHERE refresh_id = $1",
					 3, types2, values2, NULL, -1);
	}
	if (SPI_processed == 0 || running_refresh_id == 0)
		catalog_exec("INSERT INTO pgtrickle.pgt_refresh_history"
					 " (pgt_id, start_time, end_time, action, status, error_message,"
					 "  initiated_by, reason)"
					 " SELECT $1, $2, pg_catalog.clock_timestamp(), refresh_mode, 'FAILED', $3,"
					 "        'SCHEDULER', CASE WHEN $4 THEN 'transient error: will retry'"
					 "                          ELSE 'the query fails: needs attention' END"
					 "   FROM pgtrickle.pgt_stream_tables WHERE pgt_id = $1",
					 5, argtypes, values, NULL, -1);
	catalog_exec("UPDATE pgtrickle.pgt_stream_tables"
				 "   SET consecutive_errors = consecutive_errors + 1,"
				 "       last_error_message = $3, last_error_at = pg_catalog.now(),"
				 "       status = CASE WHEN NOT $4 THEN 'ERROR'"
				 "                     WHEN consecutive_errors + 1 >= $5 THEN 'SUSPENDED'"
				 "                     ELSE status END"
				 " WHERE pgt_id = $1 RETURNING consecutive_errors",
				 5, argtypes, values, NULL, -1);
	if (SPI_processed > 0)
	{
		bool		isnull;

		errors = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	return errors;
}

/* At scheduler start: refreshes cut off by a crash or restart are FAILED. */
void
CatalogFailInterrupted(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	catalog_exec("SELECT pgtrickle._fail_interrupted_refreshes()", 0, NULL, NULL, NULL, -1);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/* Scheduler upkeep: prune refresh history past its retention. */
void
CatalogUpkeep(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	catalog_exec("SELECT pgtrickle._prune_history()", 0, NULL, NULL, NULL, -1);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
}
