/*-------------------------------------------------------------------------
 *
 * names.c
 *	  Argument checks shared by the SQL-callable functions.
 *
 * Names of stream tables are SQL identifiers, possibly qualified, parsed by
 * PostgreSQL's own identifier rules: '"My Schema"."Order Totals"' works and
 * nothing is ever split on '.' by hand.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/lsyscache.h"

#include "api/api.h"
#include "compat.h"
#include "guc.h"
#include "scheduler/schedule.h"

/*
 * A text argument as a C string; NULL when the argument is NULL and argname
 * is NULL, an error when it is NULL and argname names it (a required one).
 */
char *
ApiArgText(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	if (PG_ARGISNULL(argno))
	{
		if (argname != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument \"%s\" must not be null", argname)));
		return NULL;
	}
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

RangeVar *
ApiNameToRangeVar(const char *name)
{
	List	   *names = pgt_string_to_qualified_name_list(name);

	if (list_length(names) > 3)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("improper qualified name (too many dotted names): %s", name)));
	return makeRangeVarFromNameList(names);
}

static char *
rangevar_text(const RangeVar *rv)
{
	return rv->schemaname ? psprintf("%s.%s", rv->schemaname, rv->relname)
		: pstrdup(rv->relname);
}

/* What lookup_callback checks before the lock is taken. */
typedef struct LookupCheck
{
	bool		must_own;
} LookupCheck;

/*
 * Called by RangeVarGetRelidExtended for each OID the name resolves to,
 * before it locks that relation (and again if the name moved meanwhile):
 * a relation that is not a stream table, or one the caller does not own
 * when that is required, is refused here, so that nobody can queue a lock
 * on a relation they have no business with (pg_catalog.pg_class, another
 * role's table).  The same scheme as PostgreSQL's own DROP and LOCK TABLE
 * (RangeVarCallbackOwnsRelation).
 */
static void
lookup_callback(const RangeVar *relation, Oid relid, Oid oldrelid, void *arg)
{
	LookupCheck *check = (LookupCheck *) arg;
	StreamTable *st;

	(void) oldrelid;
	if (!OidIsValid(relid))
		return;					/* missing: reported by the caller */
	st = CatalogGetByRelid(relid);
	if (st == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("\"%s\" is not a stream table", rangevar_text(relation))));
	if (check->must_own)
		ApiCheckOwner(st);
}

/*
 * Find a stream table by name and lock its storage table.  The lock is taken
 * before the catalog row is read, so a concurrent drop or rename is seen;
 * existence, kind and, with must_own, ownership are checked before the
 * lock is requested (lookup_callback) and, for ownership, again after it.
 */
StreamTable *
ApiLookup(const char *name, LOCKMODE lockmode, bool must_own)
{
	RangeVar   *rv = ApiNameToRangeVar(name);
	LookupCheck check = {must_own};
	Oid			relid;
	StreamTable *st;

	CatalogVersionMatches(true);
	relid = RangeVarGetRelidExtended(rv, lockmode, RVR_MISSING_OK,
									 lookup_callback, &check);
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("stream table \"%s\" does not exist", rangevar_text(rv))));
	st = CatalogGetByRelid(relid);
	if (st == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("\"%s\" is not a stream table", rangevar_text(rv))));
	if (must_own)
		ApiCheckOwner(st);
	/* restored and not set up yet: whoever names it first does it */
	if (!RestoreIsArmed(st->pgt_id))
	{
		RestoreRearm(st->pgt_id);
		st = CatalogGetById(st->pgt_id);
	}
	return st;
}

void
ApiCheckOwner(const StreamTable *st)
{
	if (!pgt_class_ownercheck(st->relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of stream table %s",
						quote_qualified_identifier(st->schema, st->name))));
}

void
ApiCheckNotInError(const StreamTable *st)
{
	if (strcmp(st->status, "ERROR") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("stream table %s is in ERROR status",
						quote_qualified_identifier(st->schema, st->name)),
				 errhint("Fix the cause, then call pgtrickle.resume_stream_table().")));
}

/* A keyword argument, upper-cased, if it is one of the allowed words. */
static const char *
parse_keyword(const char *value, const char *argname, const char *const *allowed)
{
	char	   *trimmed = pstrdup(value);
	char	   *p;
	int			len;

	while (*trimmed == ' ' || *trimmed == '\t' || *trimmed == '\n')
		trimmed++;
	len = strlen(trimmed);
	while (len > 0 && (trimmed[len - 1] == ' ' || trimmed[len - 1] == '\t' ||
					   trimmed[len - 1] == '\n'))
		trimmed[--len] = '\0';
	for (p = trimmed; *p; p++)
		*p = pg_ascii_toupper((unsigned char) *p);
	for (int i = 0; allowed[i] != NULL; i++)
		if (strcmp(trimmed, allowed[i]) == 0)
			return allowed[i];
	{
		StringInfoData list;

		initStringInfo(&list);
		for (int i = 0; allowed[i] != NULL; i++)
			appendStringInfo(&list, "%s'%s'", i > 0 ? ", " : "", allowed[i]);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s \"%s\"", argname, value),
				 errhint("Valid values are %s.", list.data)));
	}
	return NULL;				/* keep compiler quiet */
}

const char *
ApiParseRefreshMode(const char *mode)
{
	static const char *const modes[] = {"FULL", "DIFFERENTIAL", "AUTO", NULL};

	return parse_keyword(mode, "refresh_mode", modes);
}

const char *
ApiParseStatus(const char *status)
{
	static const char *const statuses[] = {"ACTIVE", "PAUSED", NULL};

	return parse_keyword(status, "status", statuses);
}

/*
 * cdc_mode: NULL takes pg_trickle.cdc_mode.  Only trigger capture exists;
 * 'wal' and 'auto' are reserved for capture through logical decoding.
 */
const char *
ApiParseCdcMode(const char *cdc_mode)
{
	static const char *const modes[] = {"TRIGGER", "WAL", "AUTO", NULL};
	const char *mode;

	if (cdc_mode == NULL)
		mode = pgt_cdc_mode == PGT_CDC_TRIGGER ? "TRIGGER" :
			pgt_cdc_mode == PGT_CDC_WAL ? "WAL" : "AUTO";
	else
		mode = parse_keyword(cdc_mode, "cdc_mode", modes);
	if (strcmp(mode, "TRIGGER") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cdc_mode \"%s\" is not supported yet", asc_tolower(mode, strlen(mode))),
				 errdetail("Changes are captured by triggers; capture through logical decoding is reserved for a later version."),
				 errhint("Use cdc_mode => 'trigger'.")));
	return "trigger";
}

/*
 * A schedule as stored: trimmed, or NULL for CALCULATED.
 */
char *
ApiParseSchedule(const char *schedule)
{
	Schedule	parsed;
	char	   *trimmed;
	int			len;

	if (schedule == NULL)
		return NULL;
	ScheduleParseOrError(schedule, pgt_min_schedule_seconds, &parsed);
	if (parsed.kind == SCHEDULE_CALCULATED)
		return NULL;
	trimmed = pstrdup(schedule);
	while (*trimmed == ' ' || *trimmed == '\t' || *trimmed == '\n')
		trimmed++;
	len = strlen(trimmed);
	while (len > 0 && (trimmed[len - 1] == ' ' || trimmed[len - 1] == '\t' ||
					   trimmed[len - 1] == '\n'))
		trimmed[--len] = '\0';
	return trimmed;
}

/*
 * The caller's search_path spelled out as a list of schemas, so that names in
 * a query resolve the same when a statement later runs as another role
 * ("$user" would otherwise name that role).  Temporary schemas are left out:
 * stream tables never read temporary tables.
 */
char *
ApiCallerSearchPath(void)
{
	List	   *path = fetch_search_path(true);
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, path)
	{
		Oid			nsp = lfirst_oid(lc);

		if (isAnyTempNamespace(nsp))
			continue;
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "",
						 quote_identifier(get_namespace_name(nsp)));
	}
	if (buf.len == 0)
		appendStringInfoString(&buf, "pg_catalog");
	return buf.data;
}

/* A plain table a query reads, and the columns it reads of it. */
typedef struct TableRead
{
	Oid			relid;
	Bitmapset  *cols;			/* offset by FirstLowInvalidHeapAttributeNumber */
} TableRead;

/* The plain tables a query reads, anywhere in it (sublinks included). */
static bool
collect_tables_walker(Node *node, List **reads)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;
		ListCell   *lc;

		foreach(lc, q->rtable)
		{
			RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

			if (rte->rtekind == RTE_RELATION && rte->relkind == RELKIND_RELATION)
			{
				TableRead  *r = palloc(sizeof(TableRead));

				r->relid = rte->relid;
				r->cols = pgt_rte_selected_cols(q, rte);
				*reads = lappend(*reads, r);
			}
		}
		return query_tree_walker(q, collect_tables_walker, reads, 0);
	}
	return expression_tree_walker(node, collect_tables_walker, reads);
}

/* Whether role may read the columns of a table (the whole table or each column). */
static bool
may_select(const TableRead *r, Oid role)
{
	int			col = -1;

	if (pg_class_aclcheck(r->relid, role, ACL_SELECT) == ACLCHECK_OK)
		return true;
	if (bms_is_empty(r->cols))
		return pg_attribute_aclcheck_all(r->relid, role, ACL_SELECT,
										 ACLMASK_ANY) == ACLCHECK_OK;
	while ((col = bms_next_member(r->cols, col)) >= 0)
	{
		AttrNumber	attnum = col + FirstLowInvalidHeapAttributeNumber;

		if (attnum == InvalidAttrNumber)
		{
			/* a whole-row reference: every column */
			if (pg_attribute_aclcheck_all(r->relid, role, ACL_SELECT,
										  ACLMASK_ALL) != ACLCHECK_OK)
				return false;
		}
		else if (pg_attribute_aclcheck(r->relid, attnum, role,
									   ACL_SELECT) != ACLCHECK_OK)
			return false;
	}
	return true;
}

/*
 * Differential refresh attaches capture (triggers, a change buffer) to
 * every table the query reads; the stream table's owner must hold what
 * PostgreSQL requires of whoever installs a trigger: the TRIGGER privilege
 * on the table (its owner has it and can grant it).  Joining a capture that
 * is already there needs it too: it adds the columns this query reads to
 * the buffer and holds the buffer's rows until this table consumes them.
 * The owner must also be allowed to read what the query reads: checked
 * here, before capture takes a lock stronger than a reader's on a source.
 * Returns why capture is not allowed (for the fallback of AUTO), or NULL;
 * *relid is the table concerned.
 */
static char *
capture_privilege_reason(Query *query, Oid owner, Oid *relid)
{
	List	   *reads = NIL;
	ListCell   *lc;

	(void) collect_tables_walker((Node *) query, &reads);
	foreach(lc, reads)
	{
		TableRead  *r = lfirst(lc);

		if (!may_select(r, owner))
			aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, get_rel_name(r->relid));
	}
	foreach(lc, reads)
	{
		TableRead  *r = lfirst(lc);

		if (pg_class_aclcheck(r->relid, owner, ACL_TRIGGER) != ACLCHECK_OK)
		{
			*relid = r->relid;
			return psprintf("role %s does not have the TRIGGER privilege on table %s,"
							" which capturing its changes needs",
							quote_identifier(GetUserNameFromId(owner, false)),
							CatalogRelationName(r->relid));
		}
	}
	return NULL;
}

/*
 * The refresh mode in effect for a requested one, for a stream table owned
 * by owner.  An explicit DIFFERENTIAL that the engine cannot honour is an
 * error (0A000; 42501 when the owner may not capture a source); AUTO falls
 * back to FULL and says why.
 */
void
ApiResolveMode(const char *stname, const char *requested, const QueryAnalysis *qa,
			   Oid owner, const char **mode, const char **fallback_reason)
{
	const char *reason = qa->not_differential_reason;

	*fallback_reason = NULL;
	if (strcmp(requested, "FULL") == 0)
	{
		*mode = "FULL";
		return;
	}
	if (qa->differential_ok)
	{
		Oid			relid = InvalidOid;

		reason = capture_privilege_reason(qa->query, owner, &relid);
		if (reason == NULL)
		{
			*mode = "DIFFERENTIAL";
			return;
		}
		if (strcmp(requested, "DIFFERENTIAL") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to capture changes of table %s",
							CatalogRelationName(relid)),
					 errdetail("Differential refresh of stream table %s is not possible: %s.",
							   stname, reason),
					 errhint("The owner of table %s can run GRANT TRIGGER ON %s TO %s; or use refresh_mode => 'FULL', or 'AUTO' to fall back to FULL refresh.",
							 CatalogRelationName(relid), CatalogRelationName(relid),
							 quote_identifier(GetUserNameFromId(owner, false)))));
	}
	else if (strcmp(requested, "DIFFERENTIAL") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("stream table %s cannot be refreshed differentially", stname),
				 errdetail("Differential refresh is not possible: %s.", reason),
				 errhint("Use refresh_mode => 'FULL', or 'AUTO' to fall back to FULL refresh.")));
	ereport(NOTICE,
			(errmsg("stream table %s will be refreshed FULL", stname),
			 errdetail("Differential refresh is not possible: %s.", reason)));
	*mode = "FULL";
	*fallback_reason = reason;
}
