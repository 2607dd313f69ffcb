/*-------------------------------------------------------------------------
 *
 * create.c
 *	  create_stream_table, create_stream_table_if_not_exists and
 *	  create_or_replace_stream_table.
 *
 * A stream table is made of: a storage table created by the caller with
 * CREATE TABLE AS ... WITH NO DATA (so it is the caller's, in the caller's
 * schema, with the caller's default privileges); a defining view in
 * pgtrickle_defs that is an internal part of it; a write guard trigger; and
 * its catalog rows.  All of it happens in the caller's transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "api/api.h"
#include "refresh/refresh.h"

PG_FUNCTION_INFO_V1(pgt_create_stream_table);
PG_FUNCTION_INFO_V1(pgt_create_stream_table_if_not_exists);
PG_FUNCTION_INFO_V1(pgt_create_or_replace_stream_table);

typedef enum CreateKind
{
	CREATE_PLAIN,
	CREATE_IF_NOT_EXISTS,
	CREATE_OR_REPLACE
} CreateKind;

typedef struct CreateArgs
{
	char	   *name;
	char	   *query;
	char	   *schedule;		/* normalised; NULL = CALCULATED */
	const char *requested_mode;
	bool		initialize;
	const char *cdc_mode;
} CreateArgs;

static void
create_stream_table(const CreateArgs *args, RangeVar *rv)
{
	Oid			nsp = RangeVarGetCreationNamespace(rv);
	char	   *qualified = quote_qualified_identifier(get_namespace_name(nsp),
													   rv->relname);
	char	   *search_path = ApiCallerSearchPath();
	QueryAnalysis *qa;
	StreamTable st = {0};
	const char *mode;
	const char *fallback;

	if (isAnyTempNamespace(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("stream tables cannot be temporary")));
	CatalogCheckHome(nsp, rv->relname);

	qa = AnalyzeDefiningQuery(args->query);
	AnalyzeRowSecurity(qa, GetUserId());	/* the caller will own it */
	ApiResolveMode(qualified, args->requested_mode, qa, GetUserId(), &mode,
				   &fallback);

	/* the storage table, as the caller: their schema rights, their table */
	SPI_connect();
	if (SPI_execute(psprintf("CREATE TABLE %s AS\n%s\nWITH NO DATA",
							 qualified, qa->body), false, 0) < 0)
		elog(ERROR, "could not create storage table %s", qualified);
	SPI_finish();
	st.relid = get_relname_relid(rv->relname, nsp);
	if (!OidIsValid(st.relid))
		elog(ERROR, "storage table %s was not created", qualified);

	st.pgt_id = CatalogNextId();
	st.query_relid = DependCreateDefiningView(st.pgt_id, qa->body,
											  search_path, st.relid);
	GuardInstall(st.relid);

	st.schema = get_namespace_name(nsp);
	st.name = rv->relname;
	st.original_query = args->query;
	st.schedule = args->schedule;
	st.refresh_mode = (char *) mode;
	st.requested_mode = (char *) args->requested_mode;
	st.status = "INITIALIZING";
	st.cdc_mode = (char *) args->cdc_mode;
	st.fallback_reason = (char *) fallback;
	CatalogInsert(&st);
	DependSync(st.pgt_id);
	if (strcmp(mode, "DIFFERENTIAL") == 0)
		StreamTableEnableDifferential(CatalogGetByRelid(st.relid));

	if (args->initialize)
		RefreshExecute(CatalogGetByRelid(st.relid), REFRESH_INITIAL, NULL);
	else
		RefreshProbe(&st);
}

/*
 * Bring an existing stream table to a definition, changing only what
 * differs; the table is never dropped.
 */
static void
replace_stream_table(const CreateArgs *args)
{
	StreamTable *st = ApiLookup(args->name, ExclusiveLock, true);
	bool		same_schedule;

	ApiCheckOwner(st);
	same_schedule = (st->schedule == NULL && args->schedule == NULL) ||
		(st->schedule != NULL && args->schedule != NULL &&
		 strcmp(st->schedule, args->schedule) == 0);
	if (!same_schedule)
		CatalogSetSchedule(st->pgt_id, args->schedule);
	if (strcmp(st->original_query, args->query) != 0)
	{
		st->requested_mode = (char *) args->requested_mode;
		StreamTableSetQuery(st, args->query);
	}
	else if (strcmp(st->requested_mode, args->requested_mode) != 0)
		StreamTableSetMode(st, args->requested_mode);
}

static void
create_common(FunctionCallInfo fcinfo, CreateKind kind)
{
	CreateArgs	args;
	char	   *mode;
	char	   *schedule;
	RangeVar   *rv;
	Oid			existing;

	CatalogVersionMatches(true);
	args.name = ApiArgText(fcinfo, 0, "name");
	args.query = ApiArgText(fcinfo, 1, "query");
	schedule = ApiArgText(fcinfo, 2, NULL);
	mode = ApiArgText(fcinfo, 3, NULL);
	args.initialize = PG_ARGISNULL(4) ? true : PG_GETARG_BOOL(4);

	rv = ApiNameToRangeVar(args.name);
	args.requested_mode = ApiParseRefreshMode(mode ? mode : "DIFFERENTIAL");
	args.schedule = ApiParseSchedule(schedule);
	args.cdc_mode = ApiParseCdcMode(ApiArgText(fcinfo, 5, NULL));

	existing = RangeVarGetRelid(rv, NoLock, true);
	if (OidIsValid(existing))
	{
		if (kind == CREATE_IF_NOT_EXISTS)
		{
			ereport(NOTICE,
					(errcode(ERRCODE_DUPLICATE_TABLE),
					 errmsg("relation \"%s\" already exists, skipping", args.name)));
			return;
		}
		if (kind == CREATE_OR_REPLACE && CatalogGetByRelid(existing) != NULL)
		{
			replace_stream_table(&args);
			return;
		}
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("relation \"%s\" already exists", args.name),
				 kind == CREATE_OR_REPLACE ?
				 errdetail("It is not a stream table.") : 0));
	}
	create_stream_table(&args, rv);
}

Datum
pgt_create_stream_table(PG_FUNCTION_ARGS)
{
	create_common(fcinfo, CREATE_PLAIN);
	PG_RETURN_VOID();
}

Datum
pgt_create_stream_table_if_not_exists(PG_FUNCTION_ARGS)
{
	create_common(fcinfo, CREATE_IF_NOT_EXISTS);
	PG_RETURN_VOID();
}

Datum
pgt_create_or_replace_stream_table(PG_FUNCTION_ARGS)
{
	create_common(fcinfo, CREATE_OR_REPLACE);
	PG_RETURN_VOID();
}
