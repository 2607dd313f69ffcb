/*-------------------------------------------------------------------------
 *
 * semijoin.c
 *	  The delta of a semi- or anti-join: EXISTS, NOT EXISTS, IN, NOT IN and
 *	  = ANY (subquery) as conditions of a WHERE.
 *
 * A WHERE condition "[NOT] EXISTS (SELECT ... FROM N WHERE phi)", joined to
 * the rest of the WHERE by AND, keeps a row k of the rest of the query
 * (K) once when some row of N matches it (EXISTS: a semi-join) or when none
 * does (NOT EXISTS: an anti-join).  "x IN (SELECT y ...)" and "x = ANY"
 * are EXISTS with "x = y" added to phi, and "x NOT IN (SELECT y ...)" is
 * NOT EXISTS with "(x = y) IS NOT FALSE" added: exact under SQL's NULL
 * rules (src/delta/README.md, "Semi- and anti-joins").
 *
 * The anti-join is exactly the NULL-extended part of K LEFT JOIN N ON theta
 * restricted to K's columns, so its delta is the outer join's terms for the
 * NULL-extended rows (outerjoin.c, DeltaNullExtendedTerms); the semi-join
 * is K minus the anti-join, so its delta is K's delta minus those terms.
 * K and N are made into FROM items (subqueries), theta being the
 * correlated conditions of the subquery; a WHERE with several such
 * conditions is peeled one at a time (K keeps the others, and its own
 * delta handles them).  The rows of K a change of N may flip are found
 * from that change through theta's equalities (outerjoin.c,
 * candidates_sql), so K is read only where the change reaches it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteManip.h"
#include "utils/lsyscache.h"
#include "utils/ruleutils.h"

#include "compat.h"
#include "delta/delta.h"

/* A WHERE condition that is a semi- or anti-join. */
typedef struct SemiForm
{
	SubLink    *sl;
	bool		anti;
	Node	   *extra;			/* IN/ANY's comparison, in the subquery's terms */
} SemiForm;

/* Replace the subquery's output parameters of a comparison by its columns. */
static Node *
replace_params(Node *node, Query *sub)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_SUBLINK)
	{
		TargetEntry *tle = list_nth_node(TargetEntry, sub->targetList,
										 ((Param *) node)->paramid - 1);

		return copyObject((Node *) tle->expr);
	}
	return expression_tree_mutator(node, replace_params, sub);
}

/*
 * Whether a WHERE condition is [NOT] EXISTS, [NOT] IN or [NOT] op ANY over
 * a subquery; fills f.  For IN/ANY the comparison becomes a condition of
 * the subquery: the outer operand one level up, the subquery's output
 * columns in place of their parameters.
 */
static bool
semi_form(Node *cond, SemiForm *f)
{
	bool		anti = false;
	SubLink    *sl;

	if (IsA(cond, BoolExpr) && ((BoolExpr *) cond)->boolop == NOT_EXPR)
	{
		cond = linitial(((BoolExpr *) cond)->args);
		anti = true;
	}
	if (!IsA(cond, SubLink))
		return false;
	sl = (SubLink *) cond;
	if (sl->subLinkType != EXISTS_SUBLINK && sl->subLinkType != ANY_SUBLINK)
		return false;
	f->sl = sl;
	f->anti = anti;
	f->extra = NULL;
	if (sl->subLinkType == ANY_SUBLINK)
	{
		Node	   *cmp = copyObject(sl->testexpr);

		IncrementVarSublevelsUp(cmp, 1, 0);
		cmp = replace_params(cmp, castNode(Query, sl->subselect));
		if (anti)
		{
			/* NOT IN: no row for which the comparison is true or unknown */
			BooleanTest *bt = makeNode(BooleanTest);

			bt->arg = (Expr *) cmp;
			bt->booltesttype = IS_NOT_FALSE;
			bt->location = -1;
			cmp = (Node *) bt;
		}
		f->extra = cmp;
	}
	return true;
}

static bool
jointree_has_sublink(Node *jt)
{
	if (jt == NULL || IsA(jt, RangeTblRef))
		return false;
	if (IsA(jt, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) jt)->fromlist)
			if (jointree_has_sublink(lfirst(lc)))
				return true;
		return false;
	}
	if (IsA(jt, JoinExpr))
	{
		JoinExpr   *j = (JoinExpr *) jt;

		return checkExprHasSubLink(j->quals) ||
			jointree_has_sublink(j->larg) || jointree_has_sublink(j->rarg);
	}
	return false;
}

/* The first sublink of an expression (not inside another one). */
static bool
first_sublink(Node *node, SubLink **first)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubLink))
	{
		*first = (SubLink *) node;
		return true;
	}
	return expression_tree_walker(node, first_sublink, first);
}

/* Why the subquery of a semi- or anti-join cannot be maintained, or NULL. */
static const char *
subquery_refusal(Query *sub)
{
	ListCell   *lc;

	if (sub->setOperations != NULL)
		return "a set operation in an EXISTS or IN subquery";
	if (sub->hasSubLinks)
		return "a subquery nested in an EXISTS or IN subquery";
	if (sub->hasAggs || sub->groupClause != NIL || sub->havingQual != NULL ||
		sub->groupingSets != NIL)
		return "an aggregate or GROUP BY in an EXISTS or IN subquery";
	if (sub->limitCount != NULL || sub->limitOffset != NULL)
		return "LIMIT or OFFSET in an EXISTS or IN subquery";
	if (sub->hasWindowFuncs)
		return "a window function in an EXISTS or IN subquery";
	if (sub->hasTargetSRFs)
		return "a set-returning function in an EXISTS or IN subquery";

	/* correlated references only in its WHERE (and IN's select list) */
	if (contain_vars_of_level((Node *) sub->jointree->fromlist, 1))
		return "a correlated reference in an ON condition of an EXISTS or IN subquery";
	foreach(lc, sub->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_SUBQUERY && contain_vars_of_level((Node *) rte->subquery, 2))
			return "a correlated reference in a subquery in FROM of an EXISTS or IN subquery";
	}
	return NULL;
}

/*
 * Why a query level's subqueries in expressions cannot be maintained, or
 * NULL when each is a WHERE condition the semi-join rule covers (or there
 * are none).  Their subqueries' own contents are checked by the caller
 * like any query.
 */
const char *
DeltaSemiJoinRefusal(Query *q)
{
	ListCell   *lc;

	if (!q->hasSubLinks)
		return NULL;
	if (checkExprHasSubLink((Node *) q->targetList))
		return "a subquery in the select list";
	if (checkExprHasSubLink(q->havingQual))
		return "a subquery in HAVING";
	if (jointree_has_sublink((Node *) q->jointree))
		return "a subquery in an ON condition that reads the preserved side of an outer join, "
			"or of a FULL JOIN, or of a join nested in an outer join";
	foreach(lc, q->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_VALUES && checkExprHasSubLink((Node *) rte->values_lists))
			return "a subquery in VALUES";
	}
	if (q->jointree == NULL)
		return NULL;
	foreach(lc, make_ands_implicit((Expr *) q->jointree->quals))
	{
		Node	   *cond = lfirst(lc);
		SemiForm	f;
		const char *why;

		if (!checkExprHasSubLink(cond))
			continue;
		if (!semi_form(cond, &f))
		{
			SubLink    *first = NULL;

			if (IsA(cond, BoolExpr) && ((BoolExpr *) cond)->boolop == OR_EXPR)
				return "EXISTS or IN under OR";
			(void) first_sublink(cond, &first);
			if (first->subLinkType == EXPR_SUBLINK)
				return "a scalar subquery";
			if (first->subLinkType == ALL_SUBLINK)
				return "ALL (subquery)";
			return "a subquery in an expression other than a WHERE condition [NOT] EXISTS, [NOT] IN or [NOT] = ANY joined by AND";
		}
		why = subquery_refusal(castNode(Query, f.sl->subselect));
		if (why != NULL)
			return why;
	}
	return NULL;
}

/*
 * Whether a WHERE conjunct is one the semi-join rule takes as it is
 * ([NOT] EXISTS, [NOT] IN, [NOT] op ANY); sublink.c rewrites the others.
 */
bool
DeltaIsSemiJoinCondition(Node *cond)
{
	SemiForm	f;

	return semi_form(cond, &f);
}

/* Whether a query level has a WHERE condition that is a semi/anti-join. */
bool
DeltaHasSemiJoin(Query *q)
{
	ListCell   *lc;

	if (!q->hasSubLinks || q->setOperations != NULL || q->jointree == NULL)
		return false;
	foreach(lc, make_ands_implicit((Expr *) q->jointree->quals))
	{
		SemiForm	f;

		if (semi_form(lfirst(lc), &f))
			return true;
	}
	return false;
}

/* ---------------------------------------------------------------------
 * Columns read across the two items
 * ---------------------------------------------------------------------
 */

typedef struct VarsContext
{
	int			level;			/* the Vars of this level ... */
	List	   *vars;			/* ... distinct (varno, varattno), at level 0 */
	int			varno;			/* when remapping: the item they now read */
} VarsContext;

static Node *
remap_level_vars(Node *node, VarsContext *c)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Var) && (int) ((Var *) node)->varlevelsup == c->level)
	{
		Var		   *var = (Var *) node;
		int			k = DeltaVarPosition(c->vars, var);

		if (k == 0)
			elog(ERROR, "column of a semi-join input not found");
		return (Node *) makeVar(c->varno, k, var->vartype, var->vartypmod,
								var->varcollid, 0);
	}
	Assert(!IsA(node, Query));
	return expression_tree_mutator(node, remap_level_vars, c);
}

/* A select list of the collected columns, named prefix1..n. */
static List *
vars_tlist(List *vars, const char *prefix, List **names)
{
	List	   *tlist = NIL;
	ListCell   *lc;
	int			k = 0;

	*names = NIL;
	foreach(lc, vars)
	{
		char	   *col = psprintf("%s%d", prefix, ++k);

		tlist = lappend(tlist, makeTargetEntry(copyObject(lfirst(lc)), k, col, false));
		*names = lappend(*names, makeString(col));
	}
	if (tlist == NIL)
	{
		/* nothing is read of it but its rows: one constant column */
		char	   *col = psprintf("%s1", prefix);

		tlist = list_make1(makeTargetEntry((Expr *) makeBoolConst(true, false), 1, col, false));
		*names = list_make1(makeString(col));
	}
	return tlist;
}

static RangeTblEntry *
subquery_item(Query *sub, const char *name, List *colnames)
{
	RangeTblEntry *rte = makeNode(RangeTblEntry);

	rte->rtekind = RTE_SUBQUERY;
	rte->subquery = sub;
	rte->alias = makeAlias(name, NIL);
	rte->eref = makeAlias(name, colnames);
	rte->inFromCl = true;
	return rte;
}

static Query *
select_query(List *rtable, Node *jtnode, List *tlist)
{
	Query	   *s = makeNode(Query);

	s->commandType = CMD_SELECT;
	s->querySource = QSRC_ORIGINAL;
	s->canSetTag = true;
	s->rtable = rtable;
	s->jointree = makeFromExpr(list_make1(jtnode), NULL);
	s->targetList = tlist;
	return s;
}

static RangeTblRef *
rtref(int rtindex)
{
	RangeTblRef *ref = makeNode(RangeTblRef);

	ref->rtindex = rtindex;
	return ref;
}

static Node *
null_test(Node *arg)
{
	NullTest   *nt = makeNode(NullTest);

	nt->arg = (Expr *) arg;
	nt->nulltesttype = IS_NULL;
	nt->argisrow = false;
	nt->location = -1;
	return (Node *) nt;
}

/* NOT EXISTS (the subquery with cond added to its WHERE) */
static Node *
not_exists_with(Query *sub, Node *cond)
{
	Query	   *copy = copyObject(sub);
	SubLink    *sl = makeNode(SubLink);

	copy->jointree->quals = make_and_qual(copy->jointree->quals, cond);
	sl->subLinkType = EXISTS_SUBLINK;
	sl->subselect = (Node *) copy;
	sl->location = -1;
	return (Node *) makeBoolExpr(NOT_EXPR, list_make1(sl), -1);
}

/*
 * "x NOT IN (SELECT y ...)" is "no row with (x = y) IS NOT FALSE", a
 * condition no index serves.  When the comparison is a strict btree
 * operator — which is NULL exactly when an operand is NULL — it is the
 * same as three anti-joins that each have one: no row with x = y (an index
 * on y), none at all when x IS NULL (a condition on the outer row only),
 * and no row with y IS NULL (uncorrelated: an index on y).  NIL when the
 * comparison is not such an operator (the single condition is kept).
 */
static List *
not_in_split(SemiForm *f)
{
	Query	   *sub = castNode(Query, f->sl->subselect);
	OpExpr	   *op;
	Node	   *x;
	Node	   *y;
	Node	   *cmp;

	if (!f->anti || f->sl->subLinkType != ANY_SUBLINK || !IsA(f->sl->testexpr, OpExpr))
		return NIL;
	op = (OpExpr *) f->sl->testexpr;
	if (list_length(op->args) != 2 || !op_strict(op->opno) ||
		!pgt_op_is_ordering_comparison(op->opno))
		return NIL;
	cmp = copyObject(f->sl->testexpr);
	IncrementVarSublevelsUp(cmp, 1, 0);
	cmp = replace_params(cmp, sub);
	x = linitial(((OpExpr *) cmp)->args);
	y = lsecond(((OpExpr *) cmp)->args);
	return list_make3(not_exists_with(sub, cmp),
					  not_exists_with(sub, null_test(copyObject(x))),
					  not_exists_with(sub, null_test(copyObject(y))));
}

/*
 * The delta of a query level with a semi- or anti-join condition in its
 * WHERE (DeltaHasSemiJoin): the first such condition is taken out; the
 * rest of the query becomes item K (the other conditions stay in it), the
 * subquery item N (its uncorrelated conditions inside it), and the query
 * "K LEFT JOIN N ON theta" whose NULL-extended rows are the anti-join.
 */
char *
DeltaSemiJoinSql(DeltaContext *ctx, Query *q)
{
	List	   *rest = NIL;
	List	   *corr = NIL;
	List	   *uncorr = NIL;
	SemiForm	f = {0};
	bool		found = false;
	ListCell   *lc;
	Query	   *sub;
	Query	   *kq;
	Query	   *nq;
	VarsContext kv = {0, NIL, 1};
	VarsContext nv = {0, NIL, 2};
	VarsContext up = {1, NIL, 1};
	List	   *knames;
	List	   *nnames;
	List	   *tlist;
	Node	   *theta;
	Query	   *s;
	Query	   *kproj;
	JoinExpr   *j;
	RangeTblEntry *dummy;
	StringInfoData anti;
	const char *terms;
	char	   *base;
	int			ncols = 0;
	StringInfoData dcols;

	/* take out the first semi/anti-join condition */
	foreach(lc, make_ands_implicit((Expr *) copyObject(q->jointree->quals)))
	{
		if (!found && semi_form(lfirst(lc), &f))
			found = true;
		else
			rest = lappend(rest, lfirst(lc));
	}
	Assert(found);

	/* NOT IN over a btree operator: three anti-joins that indexes serve */
	{
		List	   *split = not_in_split(&f);

		if (split != NIL)
		{
			Query	   *q2 = copyObject(q);

			q2->jointree->quals = (Node *) make_ands_explicit(list_concat(split, rest));
			return DeltaSql(ctx, q2);
		}
	}
	sub = copyObject(castNode(Query, f.sl->subselect));

	/* the subquery's conditions: correlated ones make theta */
	foreach(lc, make_ands_implicit((Expr *) sub->jointree->quals))
	{
		if (contain_vars_of_level(lfirst(lc), 1))
			corr = lappend(corr, lfirst(lc));
		else
			uncorr = lappend(uncorr, lfirst(lc));
	}
	if (f.extra != NULL)
		corr = lappend(corr, f.extra);

	/* N: the subquery with its own conditions, the columns theta reads */
	nv.vars = DeltaCollectLevelVars((Node *) corr, nv.level, 0, nv.vars);
	nq = sub;
	nq->jointree->quals = (Node *) make_ands_explicit(uncorr);
	if (uncorr == NIL)
		nq->jointree->quals = NULL;
	nq->targetList = vars_tlist(nv.vars, "__pgt_n", &nnames);
	nq->distinctClause = NIL;
	nq->hasDistinctOn = false;
	nq->sortClause = NIL;

	/* K: the rest of the query, the columns read above it and by theta */
	kv.vars = DeltaCollectLevelVars((Node *) q->targetList, kv.level, 0, kv.vars);
	up.vars = DeltaCollectLevelVars((Node *) corr, up.level, 0, up.vars);
	foreach(lc, up.vars)
		if (DeltaVarPosition(kv.vars, lfirst(lc)) == 0)
			kv.vars = lappend(kv.vars, lfirst(lc));
	kq = copyObject(q);
	kq->jointree->quals = rest == NIL ? NULL : (Node *) make_ands_explicit(rest);
	kq->hasSubLinks = checkExprHasSubLink(kq->jointree->quals);
	kq->targetList = vars_tlist(kv.vars, "__pgt_j", &knames);
	kq->sortClause = NIL;

	/* theta: N's columns first (level 0), then K's (one level up) */
	nv.varno = 2;
	theta = remap_level_vars((Node *) make_ands_explicit(corr), &nv);
	up.vars = kv.vars;
	up.varno = 1;
	theta = remap_level_vars(theta, &up);
	if (corr == NIL)
		theta = (Node *) makeBoolConst(true, false);

	/* the select list over K */
	kv.varno = 1;
	tlist = (List *) remap_level_vars((Node *) copyObject(q->targetList), &kv);
	foreach(lc, tlist)
		lfirst_node(TargetEntry, lc)->ressortgroupref = 0;

	/* s: SELECT tlist FROM K LEFT JOIN N ON theta */
	dummy = makeNode(RangeTblEntry);
	dummy->rtekind = RTE_RESULT;
	dummy->eref = makeAlias("__pgt_unused", NIL);
	j = makeNode(JoinExpr);
	j->jointype = JOIN_LEFT;
	j->larg = (Node *) rtref(1);
	j->rarg = (Node *) rtref(2);
	j->quals = theta;
	j->rtindex = 3;
	s = select_query(list_make3(subquery_item(kq, "__pgt_sk", knames),
								subquery_item(nq, "__pgt_sn", nnames),
								dummy),
					 (Node *) j, tlist);
	DeltaRebuildJoin(s, j);

	/* K's rows, with the select list: the semi-join is K minus ANTI */
	kproj = select_query(list_make1(subquery_item(copyObject(kq), "__pgt_sk",
												  list_copy(knames))),
						 (Node *) rtref(1), copyObject(tlist));

	initStringInfo(&anti);
	DeltaNullExtendedTerms(ctx, s, 1, 2,
						   DeltaItemPending(ctx, rt_fetch(1, s->rtable)),
						   DeltaItemPending(ctx, rt_fetch(2, s->rtable)),
						   &anti);
	if (anti.len == 0)
	{
		/* nothing pending on either side: an empty delta */
		return DeltaSql(ctx, kproj);
	}
	terms = anti.data + strlen(" UNION ALL ");
	if (f.anti)
		return pstrdup(terms);
	base = DeltaSql(ctx, kproj);

	initStringInfo(&dcols);
	foreach(lc, tlist)
		if (!lfirst_node(TargetEntry, lc)->resjunk)
			appendStringInfo(&dcols, "d.__pgt_c%d, ", ++ncols);
	return psprintf("%s UNION ALL SELECT %s-d.__pgt_m FROM (%s) d(%s, __pgt_m)",
					base, dcols.data, terms, DeltaPositionalNames(ncols));
}
