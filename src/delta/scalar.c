/*-------------------------------------------------------------------------
 *
 * scalar.c
 *	  Scalar subqueries in the select list and WHERE, decorrelated into a
 *	  LEFT JOIN with a grouped subquery.
 *
 * A scalar subquery that is an aggregate without GROUP BY,
 *
 *	 (SELECT f(agg(...)) FROM N WHERE phi AND n1 = x1 AND ... AND nk = xk)
 *
 * whose correlated conditions are equalities between an expression of N
 * (n_i) and one of the outer query (x_i), returns for an outer row the
 * aggregate over the rows of N matching it.  It is the same as
 *
 *	 K LEFT JOIN (SELECT n1, ..., nk, f(agg(...)), count(*) FROM N WHERE phi
 *				  GROUP BY n1, ..., nk) s ON s.n1 = x1 AND ... AND s.nk = xk
 *
 * reading CASE WHEN s.count IS NULL THEN f(agg over no rows) ELSE s.f END
 * in place of the subquery, K being the rest of the query (its FROM and
 * the WHERE conditions without this subquery).  The grouped subquery is
 * maintained by grouped.c, the outer join by outerjoin.c.  Why this is
 * exact: src/delta/README.md, "Scalar subqueries".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/pathnodes.h"
#include "optimizer/optimizer.h"
#include "parser/parse_oper.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteManip.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "compat.h"
#include "delta/delta.h"

/* The varno of the subquery's columns until the query is assembled. */
#define SCALAR_VARNO 0x7FFF0000

/* The first scalar subquery of an expression, not inside another sublink. */
static bool
first_scalar(Node *node, SubLink **found)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubLink))
	{
		if (((SubLink *) node)->subLinkType == EXPR_SUBLINK)
		{
			*found = (SubLink *) node;
			return true;
		}
		return expression_tree_walker(((SubLink *) node)->testexpr, first_scalar, found);
	}
	return expression_tree_walker(node, first_scalar, found);
}

/* Whether an expression holds a given node (by identity). */
static bool
holds_node(Node *node, void *target)
{
	if (node == NULL)
		return false;
	if (node == target)
		return true;
	return expression_tree_walker(node, holds_node, target);
}

/* Whether the scalar subquery (by identity) is inside an aggregate's call. */
static bool
in_aggref(Node *node, void *target)
{
	if (node == NULL)
		return false;
	if (IsA(node, Aggref))
		return holds_node(node, target);
	return expression_tree_walker(node, in_aggref, target);
}

/*
 * Replace the scalar subquery with an expression: the node itself and every
 * equal copy of it at this level outside aggregate calls (the same
 * subquery of the same outer row has one value, so one join serves all of
 * them; sublink.c writes the same subquery twice in a three-valued test).
 */
typedef struct ReplaceContext
{
	SubLink    *sl;
	Node	   *with;
} ReplaceContext;

static Node *
replace_sublink(Node *node, ReplaceContext *c)
{
	if (node == NULL)
		return NULL;
	if (node == (Node *) c->sl ||
		(IsA(node, SubLink) && equal(node, c->sl)))
		return copyObject(c->with);
	/* a copy inside an aggregate's call stays, refused on its own turn */
	if (IsA(node, Aggref) && !holds_node(node, c->sl))
		return copyObject(node);
	return expression_tree_mutator(node, replace_sublink, c);
}

/* Whether an expression holds the scalar subquery or an equal copy. */
static bool
holds_equal(Node *node, void *target)
{
	if (node == NULL)
		return false;
	if (node == target || (IsA(node, SubLink) && equal(node, target)))
		return true;
	return expression_tree_walker(node, holds_equal, target);
}

/*
 * Scalar subqueries of one level that share one grouped subquery: those
 * with the same FROM, WHERE and the rest of the subquery as the one being
 * peeled, differing only in their select list (sublink.c writes a scalar
 * subquery without an aggregate as its count(*) and its min(value) over
 * the same rows; a user may read several values of the same rows).  Each
 * becomes one more value column of the same grouped subquery, so one join
 * serves all of them.
 */
typedef struct SiblingContext
{
	Query	   *body;			/* the peeled subquery without select list */
	List	   *found;			/* SubLink *, distinct (not equal) ones */
} SiblingContext;

static Query *
subquery_body(SubLink *sl)
{
	Query	   *b = copyObject(castNode(Query, sl->subselect));

	b->targetList = NIL;
	pgt_query_clear_selected_cols(b);
	return b;
}

static bool
sibling_walker(Node *node, SiblingContext *c)
{
	if (node == NULL)
		return false;
	/* one inside an aggregate's call is refused on its own turn */
	if (IsA(node, Aggref))
		return false;
	if (IsA(node, SubLink))
	{
		SubLink    *sl = (SubLink *) node;

		if (sl->subLinkType == EXPR_SUBLINK)
		{
			ListCell   *lc;
			Query	   *b = subquery_body(sl);

			if (!equal(b, c->body))
				return false;
			foreach(lc, c->found)
				if (equal(lfirst(lc), sl))
					return false;
			c->found = lappend(c->found, sl);
			return false;
		}
		return sibling_walker(sl->testexpr, c);
	}
	return expression_tree_walker(node, sibling_walker, c);
}

/* ---------------------------------------------------------------------
 * The columns of the query level read above K
 * ---------------------------------------------------------------------
 */

typedef struct LevelVars
{
	int			depth;			/* how deep below the level we are */
	List	   *vars;			/* its Vars (level 0), distinct */
} LevelVars;

/* The level's Vars (at any depth below it) read K's columns; the subquery's
 * placeholders read its item. */
static Node *
remap_mutator(Node *node, LevelVars *c)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		if ((int) var->varlevelsup == c->depth)
		{
			Var		   *copy = copyObject(var);

			if (var->varno == SCALAR_VARNO)
				copy->varno = 2;
			else
			{
				int			k = DeltaVarPosition(c->vars, var);

				if (k == 0)
					elog(ERROR, "column of a scalar subquery's outer query not found");
				copy->varno = 1;
				copy->varattno = k;
			}
			copy->varnosyn = 0;
			copy->varattnosyn = 0;
			pgt_var_clear_nullingrels(copy);
			return (Node *) copy;
		}
		return copyObject(node);
	}
	if (IsA(node, Query))
	{
		Node	   *r;

		c->depth++;
		r = (Node *) query_tree_mutator((Query *) node, remap_mutator, c, 0);
		c->depth--;
		return r;
	}
	return expression_tree_mutator(node, remap_mutator, c);
}

/* ---------------------------------------------------------------------
 * The subquery
 * ---------------------------------------------------------------------
 */

/* The value of the subquery's expression over no rows: count is 0, any
 * other aggregate NULL. */
static Node *
empty_value(Node *node, void *context)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Aggref))
	{
		Aggref	   *agg = (Aggref *) node;
		char	   *name = get_func_name(agg->aggfnoid);

		if (strcmp(name, "count") == 0 && agg->aggtype == INT8OID)
			return (Node *) makeConst(INT8OID, -1, InvalidOid, 8, Int64GetDatum(0), false, true);
		return (Node *) makeNullConst(agg->aggtype, -1, agg->aggcollid);
	}
	return expression_tree_mutator(node, empty_value, context);
}

static bool
outer_aggref(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Aggref) && ((Aggref *) node)->agglevelsup > 0)
		return true;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, outer_aggref, context, 0);
	return expression_tree_walker(node, outer_aggref, context);
}

/*
 * Split a correlated condition "n = x" (n of the subquery, x of the outer
 * query, the equality GROUP BY n would use) into its sides, or false.
 */
static bool
correlation_sides(Node *cond, Node **inner, Node **outer, Oid *eqop)
{
	OpExpr	   *op;
	Node	   *l;
	Node	   *r;
	Oid			type;
	TypeCacheEntry *tc;

	if (!IsA(cond, OpExpr) || list_length(((OpExpr *) cond)->args) != 2)
		return false;
	op = (OpExpr *) cond;
	l = linitial(op->args);
	r = lsecond(op->args);
	if (!contain_vars_of_level(l, 1) && !contain_vars_of_level(r, 0) &&
		contain_vars_of_level(l, 0))
	{
		*inner = l;
		*outer = r;
	}
	else if (!contain_vars_of_level(r, 1) && !contain_vars_of_level(l, 0) &&
			 contain_vars_of_level(r, 0))
	{
		*inner = r;
		*outer = l;
	}
	else
		return false;
	if (contain_vars_of_level(*outer, 2) || checkExprHasSubLink(cond))
		return false;
	type = exprType(*inner);
	if (type != exprType(*outer))
		return false;
	tc = lookup_type_cache(type, TYPECACHE_EQ_OPR);
	if (op->opno != tc->eq_opr)
		return false;
	*eqop = op->opno;
	return true;
}

/*
 * Whether a correlated condition of a subquery is one the rewrite turns
 * into a join key (for sublink.c, which rewrites into scalar subqueries).
 */
bool
DeltaScalarCorrelation(Node *cond)
{
	Node	   *inner;
	Node	   *outer;
	Oid			eqop;

	return correlation_sides(cond, &inner, &outer, &eqop);
}

static Query *
parse_count_star(void)
{
	return DeltaParseQuery("SELECT pg_catalog.count(*)");
}

/* ---------------------------------------------------------------------
 * The grouped subquery restricted to the keys the outer query can meet
 * ---------------------------------------------------------------------
 */

/*
 * Whether a WHERE conjunct of the level may be repeated in the key hint:
 * nothing of a level above (the hint runs on its own), no volatile
 * function (a second evaluation must select the same rows).
 */
static bool
key_filter_condition(Node *cond)
{
	return !DeltaReadsUpperLevel(cond, 0, false) && !contain_volatile_functions(cond);
}

/*
 * The key hint of the whole of K, "SELECT x_1, ..., x_k FROM <K's FROM>
 * WHERE <K's conditions>", when no single relation of the level carries
 * the keys with conditions of its own (restrict_to_outer_keys); not when K
 * has no condition (it would restrict to little), reads a level above (the
 * hint runs on its own) or holds a volatile function.
 */
static void
restrict_to_level_keys(Query *kq, Query *sub, List *rest, List *outer)
{
	Query	   *keys;
	List	   *tlist = NIL;
	ListCell   *lc;

	if (rest == NIL || DeltaReadsUpperLevel((Node *) kq, -1, false) ||
		contain_volatile_functions((Node *) kq))
		return;
	foreach(lc, outer)
		tlist = lappend(tlist,
						makeTargetEntry((Expr *) copyObject(lfirst(lc)),
										list_length(tlist) + 1,
										psprintf("pgt_x%d", list_length(tlist) + 1),
										false));
	keys = copyObject(kq);
	keys->targetList = tlist;
	DeltaGroupedAddKeyHint(sub, keys);
}

/*
 * Give the grouped subquery sub a key hint (src/delta/README.md, "Scalar
 * subqueries", "Only the keys the outer query can meet"): when every outer
 * side x_i of the correlation reads one relation R of the level (a plain
 * table, not LATERAL), the query
 *
 *	 SELECT x_1, ..., x_k FROM R WHERE <conds>
 *
 * conds being the level's WHERE conjuncts that stay in K (rest) and read
 * nothing of the level but R (a sublink among them included); otherwise
 * the keys of K as a whole (restrict_to_level_keys).  grouped.c restricts
 * the groups sub's delta recomputes to the keys that query returns, in a
 * refresh where nothing it reads changed; sub itself, and every version
 * of it a term reads, stays whole.
 */
static void
restrict_to_outer_keys(Query *q, Query *kq, Query *sub, List *rest, List *outer)
{
	Bitmapset  *rels = NULL;
	int			rti;
	RangeTblEntry *rte;
	Query	   *h;
	RangeTblRef *ref;
	List	   *conds = NIL;
	List	   *tlist = NIL;
	ListCell   *lc;

	if (outer == NIL)
		return;
	foreach(lc, outer)
	{
		if (DeltaReadsUpperLevel(lfirst(lc), 0, false) || checkExprHasSubLink(lfirst(lc)) ||
			contain_volatile_functions(lfirst(lc)))
			return;
		rels = bms_add_members(rels, pull_varnos_of_level(NULL, lfirst(lc), 0));
	}
	if (!bms_get_singleton_member(rels, &rti))
	{
		restrict_to_level_keys(kq, sub, rest, outer);
		return;
	}
	rte = rt_fetch(rti, q->rtable);
	if (rte->rtekind != RTE_RELATION || rte->lateral)
	{
		restrict_to_level_keys(kq, sub, rest, outer);
		return;
	}

	foreach(lc, rest)
	{
		Node	   *cond = lfirst(lc);

		if (!bms_equal(pull_varnos_of_level(NULL, cond, 0), rels) ||
			!key_filter_condition(cond))
			continue;
		cond = copyObject(cond);
		ChangeVarNodes(cond, rti, 1, 0);
		conds = lappend(conds, cond);
	}
	/*
	 * R alone, without a condition of its own, would restrict to little:
	 * then the keys of K as a whole, its other items' conditions included
	 */
	if (conds == NIL)
	{
		restrict_to_level_keys(kq, sub, rest, outer);
		return;
	}
	foreach(lc, outer)
	{
		Node	   *x = copyObject(lfirst(lc));

		ChangeVarNodes(x, rti, 1, 0);
		tlist = lappend(tlist, makeTargetEntry((Expr *) x, list_length(tlist) + 1,
											   psprintf("pgt_x%d", list_length(tlist) + 1),
											   false));
	}

	h = makeNode(Query);
	h->commandType = CMD_SELECT;
	h->querySource = QSRC_ORIGINAL;
	h->canSetTag = true;
	h->rtable = list_make1(copyObject(rte));
	pgt_query_copy_perminfos(h, q);
	ref = makeNode(RangeTblRef);
	ref->rtindex = 1;
	h->jointree = makeFromExpr(list_make1(ref), (Node *) make_ands_explicit(conds));
	h->targetList = tlist;
	h->hasSubLinks = checkExprHasSubLink((Node *) h->jointree);
	DeltaGroupedAddKeyHint(sub, h);
}

/*
 * Rewrite the scalar subquery sl of level q into K LEFT JOIN S; NULL with
 * *reason when the subquery is not of the form the rewrite keeps exact.
 */
static Query *
peel(Query *q, SubLink *sl, bool top, char **reason, StringInfo notes)
{
	Query	   *sub = copyObject(castNode(Query, sl->subselect));
	List	   *inner = NIL;
	List	   *outer = NIL;
	List	   *eqops = NIL;
	List	   *uncorr = NIL;
	List	   *rest = NIL;
	List	   *upper = NIL;
	TargetEntry *value = NULL;
	ListCell   *lc;
	ListCell   *lc2;
	ListCell   *lc3;
	List	   *stlist = NIL;
	List	   *names = NIL;
	int			k = 0;
	int			nvalue;
	int			ncount;
	List	   *values = NIL;
	List	   *replacements = NIL;
	SiblingContext sc;
	ReplaceContext rc;
	LevelVars	lv = {0, NIL};
	Query	   *kq;
	Query	   *out;
	RangeTblEntry *krte;
	RangeTblEntry *srte;
	RangeTblEntry *dummy;
	JoinExpr   *j;
	RangeTblRef *r1;
	RangeTblRef *r2;
	List	   *theta = NIL;
	List	   *knames = NIL;
	List	   *ktlist = NIL;
	TargetEntry *count_tle;
	const char *why = NULL;

	if (sub->setOperations != NULL)
		why = "a set operation in a scalar subquery";
	else if (sub->limitCount != NULL || sub->limitOffset != NULL)
		why = "LIMIT or OFFSET in a scalar subquery";
	else if (sub->hasWindowFuncs || sub->hasTargetSRFs)
		why = "a window or set-returning function in a scalar subquery";
	else if (sub->hasSubLinks)
		why = "a subquery nested in a scalar subquery";
	else if (!sub->hasAggs)
		why = "a scalar subquery without an aggregate (it can return more than one row)";
	else if (sub->groupClause != NIL || sub->groupingSets != NIL || sub->havingQual != NULL)
		why = "a scalar subquery with GROUP BY or HAVING (it can return no row or more than one)";
	else if (outer_aggref((Node *) sub, NULL))
		why = "an aggregate of the outer query in a scalar subquery";
	else if (in_aggref((Node *) q->targetList, sl) || in_aggref(q->havingQual, sl))
		why = "a scalar subquery inside an aggregate";
	else if (q->hasAggs && q->groupClause == NIL &&
			 holds_node((Node *) q->targetList, sl))
		why = "a scalar subquery in the select list of an aggregate without GROUP BY";
	if (why != NULL)
	{
		if (*reason == NULL)
			*reason = pstrdup(why);
		return NULL;
	}

	foreach(lc, sub->targetList)
	{
		if (!lfirst_node(TargetEntry, lc)->resjunk)
			value = lfirst_node(TargetEntry, lc);
	}
	Assert(value != NULL);

	/*
	 * The level's other scalar subqueries over the same rows: their values
	 * side by side in the same grouped subquery (SiblingContext).
	 */
	sc.body = subquery_body(sl);
	sc.found = list_make1(sl);
	if (top)
		(void) sibling_walker((Node *) q->targetList, &sc);
	foreach(lc, sc.found)
	{
		SubLink    *sib = lfirst_node(SubLink, lc);
		Query	   *sq = castNode(Query, sib->subselect);
		TargetEntry *v = NULL;

		foreach(lc2, sq->targetList)
		{
			if (!lfirst_node(TargetEntry, lc2)->resjunk)
				v = lfirst_node(TargetEntry, lc2);
		}
		if (sib != sl &&
			(v == NULL || outer_aggref((Node *) v->expr, NULL) ||
			 holds_equal(q->jointree->quals, sib) || holds_equal(q->havingQual, sib) ||
			 contain_vars_of_level((Node *) v->expr, 1) ||
			 (q->hasAggs && q->groupClause == NIL &&
			  holds_node((Node *) q->targetList, sib))))
		{
			sc.found = foreach_delete_current(sc.found, lc);
			continue;
		}
		values = lappend(values, sib == sl ? value : v);
	}

	/* its WHERE: uncorrelated conditions stay, correlated ones become theta */
	if (sub->jointree->quals != NULL)
	{
		foreach(lc, make_ands_implicit((Expr *) sub->jointree->quals))
		{
			Node	   *cond = lfirst(lc);
			Node	   *in;
			Node	   *ou;
			Oid			eqop;

			if (!contain_vars_of_level(cond, 1))
			{
				uncorr = lappend(uncorr, cond);
				continue;
			}
			if (!correlation_sides(cond, &in, &ou, &eqop))
			{
				if (*reason == NULL)
					*reason = "a correlated scalar subquery whose correlated condition is not an equality between its own columns and the outer query's (the equality of their type)";
				return NULL;
			}
			inner = lappend(inner, in);
			outer = lappend(outer, ou);
			eqops = lappend_oid(eqops, eqop);
		}
	}
	sub->jointree->quals = uncorr == NIL ? NULL : (Node *) make_ands_explicit(uncorr);
	if (contain_vars_of_level((Node *) sub, 1))
	{
		if (*reason == NULL)
			*reason = "a correlated reference outside the WHERE of a scalar subquery";
		return NULL;
	}

	/* S: the keys, the value, count(*); grouped by the keys */
	forboth(lc, inner, lc2, eqops)
	{
		Node	   *e = lfirst(lc);
		SortGroupClause *sgc = makeNode(SortGroupClause);
		Oid			sortop;
		Oid			eqop;
		bool		hashable;
		char	   *name = psprintf("pgt_s_key%d", ++k);
		TargetEntry *tle = makeTargetEntry((Expr *) copyObject(e), k, name, false);

		get_sort_group_operators(exprType(e), false, true, false,
								 &sortop, &eqop, NULL, &hashable);
		tle->ressortgroupref = k;
		sgc->tleSortGroupRef = k;
		sgc->eqop = eqop;
		sgc->sortop = sortop;
		sgc->nulls_first = false;
		sgc->hashable = hashable;
		sub->groupClause = lappend(sub->groupClause, sgc);
		stlist = lappend(stlist, tle);
		names = lappend(names, makeString(name));
	}
	nvalue = k + 1;
	foreach(lc, values)
	{
		TargetEntry *v = lfirst_node(TargetEntry, lc);
		char	   *name = foreach_current_index(lc) == 0 ? pstrdup("pgt_s_value")
			: psprintf("pgt_s_value%d", foreach_current_index(lc) + 1);

		stlist = lappend(stlist, makeTargetEntry((Expr *) copyObject(v->expr), ++k,
												 name, false));
		names = lappend(names, makeString(name));
	}
	count_tle = linitial_node(TargetEntry, parse_count_star()->targetList);
	ncount = ++k;
	stlist = lappend(stlist, makeTargetEntry(count_tle->expr, ncount,
											 pstrdup("pgt_s_count"), false));
	names = lappend(names, makeString(pstrdup("pgt_s_count")));
	sub->targetList = stlist;
	sub->distinctClause = NIL;
	sub->sortClause = NIL;

	/*
	 * Each subquery's place: CASE WHEN s.count IS NULL THEN its value over
	 * no rows ELSE its value column END.
	 */
	foreach(lc, values)
	{
		Expr	   *v = lfirst_node(TargetEntry, lc)->expr;
		CaseExpr   *ce = makeNode(CaseExpr);
		CaseWhen   *cw = makeNode(CaseWhen);
		NullTest   *nt = makeNode(NullTest);

		nt->arg = (Expr *) makeVar(SCALAR_VARNO, ncount, INT8OID, -1, InvalidOid, 0);
		nt->nulltesttype = IS_NULL;
		nt->location = -1;
		cw->expr = (Expr *) nt;
		cw->result = (Expr *) empty_value((Node *) copyObject(v), NULL);
		cw->location = -1;
		ce->casetype = exprType((Node *) v);
		ce->casecollid = exprCollation((Node *) v);
		ce->args = list_make1(cw);
		ce->defresult = (Expr *) makeVar(SCALAR_VARNO, nvalue + foreach_current_index(lc),
										 exprType((Node *) v), exprTypmod((Node *) v),
										 exprCollation((Node *) v), 0);
		ce->location = -1;
		replacements = lappend(replacements, ce);
	}

	/* the level's WHERE: conditions with a subquery go above the join */
	if (q->jointree->quals != NULL)
	{
		foreach(lc, make_ands_implicit((Expr *) q->jointree->quals))
		{
			Node	   *cond = lfirst(lc);
			bool		holds = false;

			forboth(lc2, sc.found, lc3, replacements)
			{
				if (!holds_equal(lfirst(lc), lfirst(lc2)))
					continue;
				holds = true;
				rc.sl = lfirst(lc2);
				rc.with = lfirst(lc3);
				cond = replace_sublink(cond, &rc);
			}
			if (holds)
				upper = lappend(upper, cond);
			else
				rest = lappend(rest, cond);
		}
	}

	out = makeNode(Query);
	out->commandType = CMD_SELECT;
	out->querySource = QSRC_ORIGINAL;
	out->canSetTag = true;
	out->targetList = q->targetList;
	out->havingQual = q->havingQual;
	forboth(lc2, sc.found, lc3, replacements)
	{
		rc.sl = lfirst(lc2);
		rc.with = lfirst(lc3);
		out->targetList = (List *) replace_sublink((Node *) out->targetList, &rc);
		out->havingQual = replace_sublink(out->havingQual, &rc);
	}
	out->groupClause = copyObject(q->groupClause);
	out->distinctClause = copyObject(q->distinctClause);
	out->hasDistinctOn = q->hasDistinctOn;
	out->hasAggs = q->hasAggs;

	/* K: the level's FROM and the other conditions, the columns read above */
	foreach(lc, outer)
	{
		Node	   *x = copyObject(lfirst(lc));

		IncrementVarSublevelsUp(x, -1, 1);
		lfirst(lc) = x;
	}
	lv.vars = DeltaCollectLevelVars((Node *) out->targetList, 0, SCALAR_VARNO, lv.vars);
	lv.vars = DeltaCollectLevelVars(out->havingQual, 0, SCALAR_VARNO, lv.vars);
	lv.vars = DeltaCollectLevelVars((Node *) upper, 0, SCALAR_VARNO, lv.vars);
	lv.vars = DeltaCollectLevelVars((Node *) outer, 0, SCALAR_VARNO, lv.vars);
	k = 0;
	foreach(lc, lv.vars)
	{
		char	   *name = psprintf("pgt_k%d", ++k);

		ktlist = lappend(ktlist, makeTargetEntry(copyObject(lfirst(lc)), k, name, false));
		knames = lappend(knames, makeString(name));
	}
	if (ktlist == NIL)
	{
		ktlist = list_make1(makeTargetEntry((Expr *) makeBoolConst(true, false), 1,
											pstrdup("pgt_k1"), false));
		knames = list_make1(makeString(pstrdup("pgt_k1")));
	}
	kq = copyObject(q);
	kq->targetList = ktlist;
	kq->jointree->quals = rest == NIL ? NULL : (Node *) make_ands_explicit(rest);
	kq->hasSubLinks = checkExprHasSubLink((Node *) kq->jointree);
	kq->groupClause = NIL;
	kq->havingQual = NULL;
	kq->hasAggs = false;
	kq->distinctClause = NIL;
	kq->hasDistinctOn = false;
	kq->sortClause = NIL;
	/* K is one level below the level it was: its outer references too */
	IncrementVarSublevelsUp((Node *) kq, 1, 1);

	/* theta: s.n_i = x_i over K's columns */
	k = 0;
	forboth(lc, outer, lc2, eqops)
	{
		Node	   *x = lfirst(lc);
		Oid			eqop = lfirst_oid(lc2);
		Node	   *s;
		OpExpr	   *op;

		k++;
		s = (Node *) makeVar(SCALAR_VARNO, k, exprType(x), exprTypmod(x),
							 exprCollation(x), 0);
		op = (OpExpr *) make_opclause(eqop, BOOLOID, false, (Expr *) s, (Expr *) copyObject(x),
									  InvalidOid, exprCollation(x));
		set_opfuncid(op);
		theta = lappend(theta, op);
	}

	/* sub's delta: only the groups some row of K can meet */
	restrict_to_outer_keys(q, kq, sub, rest, outer);

	out->targetList = (List *) remap_mutator((Node *) out->targetList, &lv);
	out->havingQual = remap_mutator(out->havingQual, &lv);
	upper = (List *) remap_mutator((Node *) upper, &lv);

	krte = makeNode(RangeTblEntry);
	krte->rtekind = RTE_SUBQUERY;
	krte->subquery = kq;
	krte->alias = makeAlias("__pgt_sk", NIL);
	krte->eref = makeAlias("__pgt_sk", knames);
	krte->inFromCl = true;
	srte = makeNode(RangeTblEntry);
	srte->rtekind = RTE_SUBQUERY;
	srte->subquery = sub;
	srte->alias = makeAlias("__pgt_ss", NIL);
	srte->eref = makeAlias("__pgt_ss", names);
	srte->inFromCl = true;
	dummy = makeNode(RangeTblEntry);
	dummy->rtekind = RTE_RESULT;
	dummy->eref = makeAlias("__pgt_unused", NIL);
	r1 = makeNode(RangeTblRef);
	r1->rtindex = 1;
	r2 = makeNode(RangeTblRef);
	r2->rtindex = 2;
	j = makeNode(JoinExpr);
	j->jointype = JOIN_LEFT;
	j->larg = (Node *) r1;
	j->rarg = (Node *) r2;
	j->quals = theta == NIL ? (Node *) makeBoolConst(true, false)
		: remap_mutator((Node *) make_ands_explicit(theta), &lv);
	j->rtindex = 3;
	out->rtable = list_make3(krte, srte, dummy);
	out->jointree = makeFromExpr(list_make1(j),
								 upper == NIL ? NULL : (Node *) make_ands_explicit(upper));
	DeltaRebuildJoin(out, j);

	/*
	 * Above a GROUP BY (the select list, HAVING): s's columns join the
	 * GROUP BY, so that they may be read there.  They do not change the
	 * groups: an uncorrelated s has one row, and a correlated one in the
	 * select list can only be correlated to grouped expressions (PostgreSQL
	 * refuses the query otherwise), so each group meets one row of s.
	 */
	foreach(lc, sc.found)
	{
		if (holds_node((Node *) q->targetList, lfirst(lc)) ||
			holds_node(q->havingQual, lfirst(lc)))
			break;
	}
	if (q->groupClause != NIL && lc != NULL)
	{
		Index		ref = 0;
		List	   *cols = NIL;

		foreach(lc, out->targetList)
			ref = Max(ref, lfirst_node(TargetEntry, lc)->ressortgroupref);
		foreach(lc, values)
		{
			Expr	   *v = lfirst_node(TargetEntry, lc)->expr;

			cols = lappend(cols, makeVar(SCALAR_VARNO, nvalue + foreach_current_index(lc),
										 exprType((Node *) v), exprTypmod((Node *) v),
										 exprCollation((Node *) v), 0));
		}
		cols = lappend(cols, makeVar(SCALAR_VARNO, ncount, INT8OID, -1, InvalidOid, 0));
		foreach(lc, cols)
		{
			Var		   *var = (Var *) remap_mutator(lfirst(lc), &lv);
			TargetEntry *tle = makeTargetEntry((Expr *) var, list_length(out->targetList) + 1,
											   NULL, true);
			SortGroupClause *sgc = makeNode(SortGroupClause);
			bool		hashable;

			get_sort_group_operators(var->vartype, false, true, false,
									 &sgc->sortop, &sgc->eqop, NULL, &hashable);
			tle->ressortgroupref = ++ref;
			sgc->tleSortGroupRef = ref;
			sgc->hashable = hashable;
			out->targetList = lappend(out->targetList, tle);
			out->groupClause = lappend(out->groupClause, sgc);
		}
	}
	if (notes != NULL)
	{
		if (notes->len > 0)
			appendStringInfoChar(notes, '\n');
		if (inner == NIL)
			appendStringInfo(notes, "uncorrelated scalar subquery%s: LEFT JOIN to the subquery's one-row aggregate",
							 holds_node(q->havingQual, sl) ? " in HAVING" : "");
		else
			appendStringInfo(notes, "correlated scalar subquery: LEFT JOIN to the subquery grouped by its %d correlation column%s",
							 list_length(inner), list_length(inner) > 1 ? "s" : "");
		if (list_length(values) > 1)
			appendStringInfo(notes, " (%d values of its rows side by side)", list_length(values));
	}
	out->hasSubLinks = checkExprHasSubLink((Node *) out->targetList) ||
		checkExprHasSubLink((Node *) out->jointree) ||
		checkExprHasSubLink(out->havingQual);
	return out;
}

/* SELECT s.c1, ..., s.cn FROM (sub) s: the same columns, sub as an item */
static Query *
wrap_grouped(Query *sub)
{
	Query	   *w = makeNode(Query);
	RangeTblEntry *rte = makeNode(RangeTblEntry);
	RangeTblRef *ref = makeNode(RangeTblRef);
	List	   *names = NIL;
	ListCell   *lc;

	foreach(lc, sub->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		char	   *name;

		if (tle->resjunk)
			continue;
		name = psprintf("pgt_c%d", tle->resno);
		names = lappend(names, makeString(name));
		w->targetList = lappend(w->targetList,
								makeTargetEntry((Expr *) makeVar(1, tle->resno,
																 exprType((Node *) tle->expr),
																 exprTypmod((Node *) tle->expr),
																 exprCollation((Node *) tle->expr), 0),
												tle->resno, name, false));
	}
	rte->rtekind = RTE_SUBQUERY;
	rte->subquery = sub;
	rte->alias = makeAlias("__pgt_gs", list_copy(names));
	rte->eref = makeAlias("__pgt_gs", names);
	rte->inFromCl = true;
	ref->rtindex = 1;
	w->commandType = CMD_SELECT;
	w->querySource = QSRC_ORIGINAL;
	w->canSetTag = true;
	w->rtable = list_make1(rte);
	w->jointree = makeFromExpr(list_make1(ref), NULL);
	return w;
}

typedef struct RewriteContext
{
	char	  **reason;
	StringInfo	notes;			/* what was rewritten, for explain_st */
	bool		top;			/* the level is the statement's top level */
} RewriteContext;

static Query *rewrite_level(Query *q, RewriteContext *rc);

static bool
rewrite_sublinks(Node *node, RewriteContext *rc)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubLink))
	{
		SubLink    *sl = (SubLink *) node;

		if (sl->subLinkType != EXPR_SUBLINK)
		{
			Query	   *sub;

			sub = rewrite_level(castNode(Query, sl->subselect), rc);

			/*
			 * An uncorrelated grouped subquery of EXISTS/IN (TPC-H Q18:
			 * "IN (SELECT k ... GROUP BY k HAVING ...)") becomes a subquery
			 * in FROM of a plain one with the same columns, which the
			 * semi-join rule reads as an item (grouped.c maintains it).
			 */
			if ((sl->subLinkType == EXISTS_SUBLINK || sl->subLinkType == ANY_SUBLINK) &&
				DeltaIsGrouped(sub) && !contain_vars_of_level((Node *) sub, 1))
				sub = wrap_grouped(sub);
			sl->subselect = (Node *) sub;
		}
		return rewrite_sublinks(sl->testexpr, rc);
	}
	return expression_tree_walker(node, rewrite_sublinks, rc);
}

/*
 * Whether a query level's sublinks are for the rewrites of scalar.c and
 * sublink.c: a plain level with sublinks.  Levels with a set operation, a
 * window function, LIMIT and the like are refused for their own reason
 * (shape.c): nothing to rewrite there.
 */
bool
DeltaSublinksRewritable(Query *q)
{
	return q->hasSubLinks && q->setOperations == NULL && q->jointree != NULL &&
		!(q->hasWindowFuncs || q->hasTargetSRFs || q->limitCount != NULL ||
		  q->limitOffset != NULL || q->hasDistinctOn || q->groupingSets != NIL ||
		  q->rowMarks != NIL);
}

static Query *
rewrite_level(Query *q, RewriteContext *rc)
{
	ListCell   *lc;
	SubLink    *sl = NULL;
	Query	   *out;
	bool		top = rc->top;

	rc->top = false;
	foreach(lc, q->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_SUBQUERY)
			rte->subquery = rewrite_level(rte->subquery, rc);
	}
	if (!DeltaSublinksRewritable(q))
		return q;
	(void) rewrite_sublinks(q->jointree->quals, rc);
	if (!first_scalar((Node *) q->targetList, &sl) &&
		!first_scalar(q->jointree->quals, &sl))
	{
		/* in HAVING: uncorrelated ones, under GROUP BY */
		if (!first_scalar(q->havingQual, &sl) || q->groupClause == NIL ||
			contain_vars_of_level(sl->subselect, 1))
			return q;
	}
	out = peel(q, sl, top, rc->reason, rc->notes);
	if (out == NULL)
		return q;
	/* K is a new subquery in FROM; the level itself stays where it was */
	rc->top = top;
	return rewrite_level(out, rc);
}

/*
 * The query with each scalar subquery of a select list or WHERE that the
 * rewrite covers turned into a LEFT JOIN with a grouped subquery, at every
 * level; *reason names the first one it does not cover (left in place).
 */
Query *
DeltaScalarRewrite(Query *q, char **reason)
{
	RewriteContext rc = {reason, NULL, true};

	*reason = NULL;
	return rewrite_level(q, &rc);
}

/*
 * For explain_st: one line per scalar subquery the rewrite turned into a
 * join, then one per grouped subquery (grouped.c) of the rewritten query;
 * NULL when there is none.
 */
char *
DeltaSubqueryMaintenance(const char *sql)
{
	StringInfoData notes;
	char	   *reason;
	RewriteContext rc = {&reason, &notes, true};
	Query	   *q;

	initStringInfo(&notes);
	reason = NULL;
	q = DeltaSetOpQuery(rewrite_level(DeltaSublinkRewrite(DeltaOnQualRewrite(DeltaParseUserQuery(sql)), &notes), &rc));
	DeltaGroupedDescribe(q, &notes);
	return notes.len > 0 ? notes.data : NULL;
}
