/*-------------------------------------------------------------------------
 *
 * sandbox.c
 *	  Running a refresh as the stream table's owner, restricted.
 *
 * Like REFRESH MATERIALIZED VIEW: the owner's rights, a security-restricted
 * operation (no SET ROLE, no temporary objects, no changes of session state
 * that outlive the refresh) and search_path pinned to pg_catalog, so that a
 * function called by the query never runs with the rights of whoever asked
 * for the refresh.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "rewrite/rewriteHandler.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"
#include "utils/syscache.h"

#include "compat.h"
#include "refresh/refresh.h"

Oid
SandboxOwner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

void
SandboxEnter(Sandbox *sb, Oid relid)
{
	GetUserIdAndSecContext(&sb->save_userid, &sb->save_sec_context);
	SetUserIdAndSecContext(SandboxOwner(relid),
						   sb->save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	sb->save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", PGT_SAFE_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

void
SandboxLeave(Sandbox *sb)
{
	/* undo whatever the query's functions set */
	AtEOXact_GUC(false, sb->save_nestlevel);
	SetUserIdAndSecContext(sb->save_userid, sb->save_sec_context);
}

/* Make every level of a query check its privileges as the current user. */
static bool
check_as_current_user(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		pgt_query_check_as_current_user((Query *) node);
		return query_tree_walker((Query *) node, check_as_current_user,
								 context, 0);
	}
	return expression_tree_walker(node, check_as_current_user, context);
}

/* PostgreSQL's own check of every level of a rewritten query. */
static bool
check_permissions(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		pgt_query_check_permissions((Query *) node);
		return query_tree_walker((Query *) node, check_permissions,
								 context, 0);
	}
	return expression_tree_walker(node, check_permissions, context);
}

/*
 * Check, inside the sandbox, that the owner may still read everything the
 * defining query reads, as the executor checks it before running the query
 * (42501 otherwise): SELECT on every relation, or on every column it reads.
 * A differential refresh need not read a source (the delta of a one-table
 * query reads only the change set), so without this a revoked privilege
 * would not stop it.
 *
 * The defining view's query comes from the relcache (parsed and analysed
 * once); its tables are checked as the owner, not as the view's owner (the
 * catalog owner), and the views it reads are expanded by the rewriter, which
 * checks their contents as their owners, exactly as in the owner's query.
 */
void
SandboxCheckPrivileges(Oid query_relid)
{
	Relation	view = table_open(query_relid, AccessShareLock);
	Query	   *query = copyObject(get_view_query(view));
	List	   *rewritten;
	ListCell   *lc;

	table_close(view, NoLock);
	(void) check_as_current_user((Node *) query, NULL);
	AcquireRewriteLocks(query, true, false);
	rewritten = QueryRewrite(query);
	foreach(lc, rewritten)
		(void) check_permissions(lfirst(lc), NULL);
}

/*
 * Why changes read from the buffers of these relations cannot be applied
 * for role: row-level security applies to it on one of them (its policies
 * would hide rows that the buffers hold).  NULL when it applies on none:
 * the role is exempt (superuser, BYPASSRLS, owner of a table without FORCE
 * ROW LEVEL SECURITY) or no table has row-level security enabled.
 */
char *
SandboxRowSecurityReason(List *relids, Oid role)
{
	ListCell   *lc;

	foreach(lc, relids)
	{
		Oid			relid = lfirst_oid(lc);

		if (check_enable_rls(relid, role, true) == RLS_ENABLED)
			return psprintf("row-level security applies to role %s on table %s",
							quote_identifier(GetUserNameFromId(role, false)),
							quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
													   get_rel_name(relid)));
	}
	return NULL;
}
