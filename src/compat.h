/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  The only place where pg_trickle looks at PG_VERSION_NUM.
 *
 * pg_trickle is built and tested on PostgreSQL 15; each difference in the
 * server API up to 18 that the code meets is bridged here.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGT_COMPAT_H
#define PGT_COMPAT_H

#include "postgres.h"

#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
#include "utils/regproc.h"

#if PG_VERSION_NUM < 150000
#error "pg_trickle needs PostgreSQL 15 or later"
#endif

/* Ownership checks became generic in 16. */
#if PG_VERSION_NUM >= 160000
#define pgt_class_ownercheck(relid, roleid) \
	object_ownercheck(RelationRelationId, (relid), (roleid))
#else
#define pgt_class_ownercheck(relid, roleid) pg_class_ownercheck((relid), (roleid))
#endif

/* stringToQualifiedNameList grew a soft-error context in 16. */
#if PG_VERSION_NUM >= 160000
#define pgt_string_to_qualified_name_list(s) stringToQualifiedNameList((s), NULL)
#else
#define pgt_string_to_qualified_name_list(s) stringToQualifiedNameList(s)
#endif

/* Index AMs that cache state across index_insert calls clean up in 17. */
#if PG_VERSION_NUM >= 170000
#define pgt_index_insert_cleanup(index, info) index_insert_cleanup((index), (info))
#else
#define pgt_index_insert_cleanup(index, info) ((void) 0)
#endif

/* Index insertion of a new row learnt of summarizing-only updates in 16. */
#if PG_VERSION_NUM >= 160000
#define pgt_exec_insert_index_tuples(rri, slot, estate) \
	ExecInsertIndexTuples((rri), (slot), (estate), false, false, NULL, NIL, false)
#else
#define pgt_exec_insert_index_tuples(rri, slot, estate) \
	ExecInsertIndexTuples((rri), (slot), (estate), false, false, NULL, NIL)
#endif

/* Virtual generated columns are new in 18. */
#if PG_VERSION_NUM >= 180000
#define pgt_has_generated(constr) \
	((constr)->has_generated_stored || (constr)->has_generated_virtual)
#else
#define pgt_has_generated(constr) ((constr)->has_generated_stored)
#endif

/*
 * A range table entry that stops reading a relation asks for no permission
 * on it; from 16 the permissions live in the query's RTEPermissionInfo list
 * and the entry only points there.
 */
#if PG_VERSION_NUM >= 160000
#define pgt_rte_clear_permissions(rte) ((void) ((rte)->perminfoindex = 0))
#else
static inline void
pgt_rte_clear_permissions(RangeTblEntry *rte)
{
	rte->requiredPerms = 0;
	rte->checkAsUser = InvalidOid;
	rte->selectedCols = NULL;
	rte->insertedCols = NULL;
	rte->updatedCols = NULL;
	rte->extraUpdatedCols = NULL;
}
#endif

/*
 * From 18 the parser puts a grouping step into the range table (RTE_GROUP)
 * and grouped columns in the target list and HAVING point at it.  The
 * delta engine reads a grouped query's output as expressions over its
 * sources, so it flattens those references back into the grouping
 * expressions (as ruleutils does before deparsing) and steps over the
 * grouping entry.  No-ops before 18.
 */
#if PG_VERSION_NUM >= 180000
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"

static inline bool
pgt_flatten_grouping_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;

		if (q->hasGroupRTE)
		{
			q->targetList = (List *) flatten_group_exprs(NULL, q, (Node *) q->targetList);
			q->havingQual = flatten_group_exprs(NULL, q, q->havingQual);
		}
		return query_tree_walker(q, pgt_flatten_grouping_walker, context, 0);
	}
	return expression_tree_walker(node, pgt_flatten_grouping_walker, context);
}

static inline void
pgt_flatten_grouping(Query *q)
{
	(void) pgt_flatten_grouping_walker((Node *) q, NULL);
}

#define pgt_rte_is_grouping(rte) ((rte)->rtekind == RTE_GROUP)
/* the grouped expressions of a grouping entry (NULL for any other) */
#define pgt_rte_group_exprs(rte) \
	((rte)->rtekind == RTE_GROUP ? &(rte)->groupexprs : (List **) NULL)
#else
#define pgt_flatten_grouping(q) ((void) (q))
#define pgt_rte_is_grouping(rte) ((void) (rte), false)
#define pgt_rte_group_exprs(rte) ((void) (rte), (List **) NULL)
#endif

/*
 * Privileges of one query level: on the range table entries up to 15, on
 * RTEPermissionInfo (Query.rteperminfos) from 16.
 */
static inline void
pgt_query_check_as_current_user(Query *query)
{
	ListCell   *lc;

#if PG_VERSION_NUM >= 160000
	foreach(lc, query->rteperminfos)
		lfirst_node(RTEPermissionInfo, lc)->checkAsUser = InvalidOid;
#else
	foreach(lc, query->rtable)
		lfirst_node(RangeTblEntry, lc)->checkAsUser = InvalidOid;
#endif
}

/*
 * Forget which columns one query level reads for its privilege check (on
 * the range table entries up to 15, on RTEPermissionInfo from 16): two
 * levels that differ only in their select lists then compare equal.
 */
static inline void
pgt_query_clear_selected_cols(Query *query)
{
	ListCell   *lc;

#if PG_VERSION_NUM >= 160000
	foreach(lc, query->rteperminfos)
		lfirst_node(RTEPermissionInfo, lc)->selectedCols = NULL;
#else
	foreach(lc, query->rtable)
		lfirst_node(RangeTblEntry, lc)->selectedCols = NULL;
#endif
}

/*
 * From 16 a Var records the outer joins that can null it, and permissions
 * live in a list of the query: a rewritten tree that is only deparsed
 * drops the former and keeps a copy of the latter.
 */
#if PG_VERSION_NUM >= 160000
#define pgt_var_clear_nullingrels(var) ((void) ((var)->varnullingrels = NULL))
#define pgt_query_copy_perminfos(dst, src) \
	((void) ((dst)->rteperminfos = copyObject((src)->rteperminfos)))
#else
#define pgt_var_clear_nullingrels(var) ((void) (var))
#define pgt_query_copy_perminfos(dst, src) ((void) (dst), (void) (src))
#endif

/* ExecCheckRTPerms became ExecCheckPermissions in 16. */
#if PG_VERSION_NUM >= 160000
#define pgt_query_check_permissions(query) \
	((void) ExecCheckPermissions((query)->rtable, (query)->rteperminfos, true))
#else
#define pgt_query_check_permissions(query) \
	((void) ExecCheckRTPerms((query)->rtable, true))
#endif

/* Whether the current checks of one query level pass, without raising. */
#if PG_VERSION_NUM >= 160000
#define pgt_query_permitted(query) \
	ExecCheckPermissions((query)->rtable, (query)->rteperminfos, false)
#else
#define pgt_query_permitted(query) ExecCheckRTPerms((query)->rtable, false)
#endif

/* ExecutorRun lost its execute_once argument in 18. */
#if PG_VERSION_NUM >= 180000
#define PGT_EXECUTOR_RUN_ONCE_PARAM
#define PGT_EXECUTOR_RUN_ONCE_ARG
#else
#define PGT_EXECUTOR_RUN_ONCE_PARAM , bool execute_once
#define PGT_EXECUTOR_RUN_ONCE_ARG , execute_once
#endif

/* The columns a query reads of a relation (RTEPermissionInfo from 16). */
#if PG_VERSION_NUM >= 160000
#include "parser/parse_relation.h"

static inline Bitmapset *
pgt_rte_selected_cols(Query *query, RangeTblEntry *rte)
{
	if (rte->perminfoindex == 0)
		return NULL;
	return getRTEPermissionInfo(query->rteperminfos, rte)->selectedCols;
}
#else
#define pgt_rte_selected_cols(query, rte) ((void) (query), (rte)->selectedCols)
#endif

/* Safe search_path for code that runs on behalf of someone else. */
#define PGT_SAFE_SEARCH_PATH "pg_catalog, pg_temp"

/*
 * Whether an operator is a comparison of an ordering index operator family
 * (btree): such an operator is NULL exactly when an operand is NULL.  18
 * generalised the lookup from btree to every index AM that orders.
 */
#if PG_VERSION_NUM >= 180000
#define pgt_op_is_ordering_comparison(opno) (get_op_index_interpretation(opno) != NIL)
#else
#define pgt_op_is_ordering_comparison(opno) (get_op_btree_interpretation(opno) != NIL)
#endif

#endif							/* PGT_COMPAT_H */
