/*-------------------------------------------------------------------------
 *
 * views.c
 *	  Views as sources of a differential stream table: each view is
 *	  expanded to its definition (recursively, views on views), so that the
 *	  engine sees subqueries over the tables the views read and captures
 *	  those.  See src/delta/README.md, "Views as sources".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "rewrite/rewriteHandler.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"

#include "compat.h"
#include "delta/delta.h"

typedef struct ExpandContext
{
	bool		expanded;		/* some view was expanded */
	char	   *reason;			/* why the owner may not read through one */
} ExpandContext;

static bool expand_walker(Node *node, ExpandContext *ctx);

/*
 * Whether the current user may read, itself, everything one level of a
 * view's query reads (SELECT on the relations or on the columns read),
 * checked as the executor checks it but without raising.
 */
static bool
check_level_as_current_user(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;

		pgt_query_check_as_current_user(q);
		if (!pgt_query_permitted(q))
			return true;
		return query_tree_walker(q, check_level_as_current_user, context, 0);
	}
	return expression_tree_walker(node, check_level_as_current_user, context);
}

/*
 * Replace the range table entry of a view by a subquery of its definition,
 * as the rewriter does (ApplyRetrieveRule).  The view's own privilege
 * semantics (its owner's rights, security_invoker, security_barrier) do not
 * survive: the delta reads the view's relations as the stream table's
 * owner, so the owner must be able to read them itself (ctx->reason
 * otherwise).
 */
static void
expand_view(RangeTblEntry *rte, ExpandContext *ctx)
{
	Relation	rel = table_open(rte->relid, AccessShareLock);
	Query	   *vq = copyObject(get_view_query(rel));
	Query	   *check = copyObject(vq);

	if (ctx->reason == NULL &&
		check_level_as_current_user((Node *) check, NULL))
		ctx->reason = psprintf("view %s reads relations that role %s cannot read itself (a differential refresh reads a view's tables as the stream table's owner)",
							   quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
														  RelationGetRelationName(rel)),
							   quote_identifier(GetUserNameFromId(GetUserId(), false)));
	table_close(rel, NoLock);

	if (rte->alias == NULL)
		rte->alias = makeAlias(rte->eref->aliasname, NIL);
	if (rte->alias->colnames == NIL)
		rte->alias->colnames = list_copy(rte->eref->colnames);
	DeltaMakeSubqueryRte(rte, vq);
	ctx->expanded = true;
}

static bool
expand_walker(Node *node, ExpandContext *ctx)
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

			/*
			 * inFromCl: up to 15 a view's query carries two entries for the
			 * view itself (OLD and NEW), which nothing reads
			 */
			if (rte->rtekind == RTE_RELATION && rte->relkind == RELKIND_VIEW &&
				rte->inFromCl)
				expand_view(rte, ctx);
		}
		/* then the subqueries, the views' definitions included */
		return query_tree_walker(q, expand_walker, ctx, 0);
	}
	return expression_tree_walker(node, expand_walker, ctx);
}

/*
 * The query with every view it reads (in FROM, in subqueries, in sublinks,
 * views on views) replaced by its definition, deparsed and analysed again
 * so that the engine meets a tree like any other; q itself when it reads no
 * view.  *reason is set when the current user could not read a view's
 * relations itself.
 */
Query *
DeltaExpandViews(Query *q, char **reason)
{
	ExpandContext ctx = {false, NULL};

	*reason = NULL;
	(void) expand_walker((Node *) q, &ctx);
	if (!ctx.expanded)
		return q;
	*reason = ctx.reason;
	return DeltaParseUserQuery(pg_get_querydef(q, false));
}

/*
 * Append to a plan cache key what the views a defining view reads are
 * defined as now (views on views included): CREATE OR REPLACE VIEW of one
 * of them changes the delta statement, not the defining query's text.
 */
static bool
views_key_walker(Node *node, StringInfo key)
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

			if (rte->rtekind == RTE_RELATION && rte->relkind == RELKIND_VIEW &&
				rte->inFromCl)
			{
				Relation	rel = table_open(rte->relid, AccessShareLock);
				Query	   *vq = get_view_query(rel);

				appendStringInfo(key, "/v%u:%s", rte->relid, nodeToString(vq));
				(void) views_key_walker((Node *) vq, key);
				table_close(rel, NoLock);
			}
		}
		return query_tree_walker(q, views_key_walker, key, 0);
	}
	return expression_tree_walker(node, views_key_walker, key);
}

void
DeltaViewsKey(Oid query_relid, StringInfo key)
{
	Relation	rel = table_open(query_relid, AccessShareLock);

	(void) views_key_walker((Node *) get_view_query(rel), key);
	table_close(rel, NoLock);
}
