/*-------------------------------------------------------------------------
 *
 * sublink.c
 *	  EXISTS, IN and non-aggregate scalar subqueries where PostgreSQL cannot
 *	  make a semi-join of them, rewritten into aggregate scalar subqueries.
 *
 * The semi-join rule (semijoin.c) covers a sublink that is a top-level
 * conjunct of a WHERE; the scalar rule (scalar.c) covers an aggregate
 * scalar subquery correlated by equalities.  Every other EXISTS / IN /
 * = ANY (under OR, under NOT (... OR ...), in the select list, in CASE,
 * uncorrelated in HAVING) and a scalar subquery without an aggregate is
 * rewritten here, before scalar.c runs, into counts the scalar rule then
 * maintains:
 *
 *	 EXISTS (S)		  =>  (SELECT count(*) FROM S) > 0
 *	 x IN (S: y)	  =>  CASE WHEN (SELECT count(*) ... AND y = x) > 0 THEN true
 *						   WHEN m = 0 THEN false
 *						   WHEN m = 2 OR x IS NULL THEN NULL ELSE false END
 *						  m = (SELECT CASE WHEN count(*) = 0 THEN 0
 *								WHEN count(*) > count(y) THEN 2 ELSE 1 END ...)
 *						  (only "... > 0" where NULL and false are alike)
 *	 (SELECT e ...)   =>  pgtrickle._one_row((SELECT count(*) ...),
 *										   (SELECT min(e) ...))
 *
 * Why this is exact: src/delta/README.md, "Sublinks anywhere".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_func.h"
#include "rewrite/rewriteManip.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "compat.h"
#include "delta/delta.h"

PG_FUNCTION_INFO_V1(pgt_one_row);

typedef struct SublinkContext
{
	bool		positive;		/* NULL and false are alike here */
	bool		uncorrelated_only;	/* HAVING: only uncorrelated ones */
	StringInfo	notes;			/* what was rewritten, for explain_st */
} SublinkContext;

/*
 * pgtrickle._one_row(count, value): the value of a scalar subquery that
 * met count rows; more than one raises what PostgreSQL raises for it.
 */
Datum
pgt_one_row(PG_FUNCTION_ARGS)
{
	if (!PG_ARGISNULL(0) && PG_GETARG_INT64(0) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("more than one row returned by a subquery used as an expression")));
	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(PG_GETARG_DATUM(1));
}

static void
note(SublinkContext *c, const char *line)
{
	if (c->notes == NULL)
		return;
	if (c->notes->len > 0)
		appendStringInfoChar(c->notes, '\n');
	appendStringInfoString(c->notes, line);
}

/*
 * Whether the subquery is one the rewrite keeps exact: a plain SELECT ...
 * FROM ... WHERE whose correlated references are WHERE conjuncts that are
 * join keys for scalar.c.  keep_tlist: its select list is kept (IN, a
 * scalar subquery) and may not be correlated.
 */
static bool
simple_subquery(Query *sub, bool keep_tlist, bool uncorrelated_only)
{
	Query	   *rest;
	ListCell   *lc;

	if (sub->setOperations != NULL || sub->limitCount != NULL ||
		sub->limitOffset != NULL || sub->hasWindowFuncs || sub->hasTargetSRFs ||
		sub->hasSubLinks || sub->hasAggs || sub->groupClause != NIL ||
		sub->groupingSets != NIL || sub->havingQual != NULL ||
		sub->hasDistinctOn || sub->rowMarks != NIL || sub->cteList != NIL ||
		sub->jointree == NULL || sub->commandType != CMD_SELECT)
		return false;
	if (contain_aggs_of_level((Node *) sub, 1))
		return false;
	rest = copyObject(sub);
	rest->jointree->quals = NULL;
	if (!keep_tlist)
		rest->targetList = NIL;
	rest->sortClause = NIL;
	if (contain_vars_of_level((Node *) rest, 1))
		return false;
	foreach(lc, make_ands_implicit((Expr *) sub->jointree->quals))
	{
		Node	   *cond = lfirst(lc);

		if (!contain_vars_of_level(cond, 1))
			continue;
		if (uncorrelated_only || !DeltaScalarCorrelation(cond))
			return false;
	}
	return true;
}

/* count(*), or count(arg) */
static Node *
make_count(Node *arg)
{
	TargetEntry *tle = linitial_node(TargetEntry,
									 DeltaParseQuery("SELECT pg_catalog.count(*)")->targetList);
	Aggref	   *agg = castNode(Aggref, copyObject(tle->expr));

	if (arg != NULL)
	{
		agg->aggfnoid = F_COUNT_ANY;
		agg->aggstar = false;
		agg->args = list_make1(makeTargetEntry((Expr *) copyObject(arg), 1, NULL, false));
		agg->aggargtypes = list_make1_oid(exprType(arg));
	}
	return (Node *) agg;
}

static Node *
int8_const(int64 v)
{
	return (Node *) makeConst(INT8OID, -1, InvalidOid, 8, Int64GetDatum(v), false, true);
}

/* l op v, op one of the int8 comparisons of the type cache */
static Node *
int8_cmp(Node *l, bool gt, int64 v)
{
	TypeCacheEntry *tc = lookup_type_cache(INT8OID, TYPECACHE_EQ_OPR | TYPECACHE_GT_OPR);
	OpExpr	   *op;

	op = (OpExpr *) make_opclause(gt ? tc->gt_opr : tc->eq_opr, BOOLOID, false,
								  (Expr *) l, (Expr *) int8_const(v),
								  InvalidOid, InvalidOid);
	set_opfuncid(op);
	return (Node *) op;
}

/* (SELECT value FROM <sub's FROM> WHERE <sub's WHERE> AND extra) */
static Node *
scalar_of(Query *sub, Node *extra, Node *value)
{
	Query	   *q = copyObject(sub);
	SubLink    *sl = makeNode(SubLink);
	List	   *quals = make_ands_implicit((Expr *) q->jointree->quals);

	if (extra != NULL)
		quals = lappend(quals, extra);
	q->jointree->quals = quals == NIL ? NULL : (Node *) make_ands_explicit(quals);
	q->targetList = list_make1(makeTargetEntry((Expr *) value, 1, pstrdup("pgt_value"), false));
	q->hasAggs = true;
	q->sortClause = NIL;
	q->distinctClause = NIL;
	q->hasDistinctOn = false;
	sl->subLinkType = EXPR_SUBLINK;
	sl->subLinkId = 0;
	sl->testexpr = NULL;
	sl->operName = NIL;
	sl->subselect = (Node *) q;
	sl->location = -1;
	return (Node *) sl;
}

/* The only output expression of a subquery. */
static Expr *
only_output(Query *sub)
{
	Expr	   *e = NULL;
	ListCell   *lc;

	foreach(lc, sub->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (tle->resjunk)
			continue;
		if (e != NULL)
			return NULL;
		e = tle->expr;
	}
	return e;
}

/* EXISTS (S) => (SELECT count(*) ... ) > 0 */
static Node *
rewrite_exists(SubLink *sl, SublinkContext *c)
{
	Query	   *sub = castNode(Query, sl->subselect);

	if (!simple_subquery(sub, false, c->uncorrelated_only))
		return NULL;
	note(c, "EXISTS in an expression: count(*) > 0 of its subquery, LEFT JOIN to it grouped by its correlation columns");
	return int8_cmp(scalar_of(sub, NULL, make_count(NULL)), true, 0);
}

/* x IN (S) / x = ANY (S), one column, the equality of x's type */
static Node *
rewrite_in(SubLink *sl, SublinkContext *c)
{
	Query	   *sub = castNode(Query, sl->subselect);
	OpExpr	   *op;
	Node	   *x;
	Expr	   *y;
	Node	   *xin;
	OpExpr	   *cond;
	Node	   *eq;
	Node	   *m;
	CaseExpr   *ce;
	CaseExpr   *mc;
	CaseWhen   *w;
	NullTest   *nt;
	Node	   *cnt;

	if (sl->testexpr == NULL || !IsA(sl->testexpr, OpExpr))
		return NULL;
	op = (OpExpr *) sl->testexpr;
	if (list_length(op->args) != 2 || !IsA(lsecond(op->args), Param) ||
		((Param *) lsecond(op->args))->paramkind != PARAM_SUBLINK ||
		((Param *) lsecond(op->args))->paramid != 1)
		return NULL;
	x = linitial(op->args);
	y = only_output(sub);
	if (y == NULL || exprType(x) != exprType((Node *) y) ||
		checkExprHasSubLink(x) || contain_vars_of_level(x, 1) ||
		op->opno != lookup_type_cache(exprType(x), TYPECACHE_EQ_OPR)->eq_opr)
		return NULL;
	if (!simple_subquery(sub, true, c->uncorrelated_only))
		return NULL;

	/* y = x inside the subquery: x one level up */
	xin = copyObject(x);
	IncrementVarSublevelsUp(xin, 1, 0);
	cond = (OpExpr *) make_opclause(op->opno, BOOLOID, false,
									(Expr *) copyObject(y), (Expr *) xin,
									InvalidOid, op->inputcollid);
	set_opfuncid(cond);
	if (contain_vars_of_level((Node *) cond, 1) &&
		(c->uncorrelated_only || !DeltaScalarCorrelation((Node *) cond)))
		return NULL;

	eq = int8_cmp(scalar_of(sub, (Node *) cond, make_count(NULL)), true, 0);
	if (c->positive)
	{
		note(c, "IN in a WHERE condition: count(*) > 0 of its subquery's equal rows, LEFT JOIN to it grouped by its correlation columns");
		return eq;
	}

	/* m: 0 no row, 1 rows without a NULL y, 2 rows with one */
	cnt = make_count(NULL);
	mc = makeNode(CaseExpr);
	mc->casetype = INT8OID;
	w = makeNode(CaseWhen);
	w->expr = (Expr *) int8_cmp(copyObject(cnt), false, 0);
	w->result = (Expr *) int8_const(0);
	w->location = -1;
	mc->args = list_make1(w);
	w = makeNode(CaseWhen);
	{
		TypeCacheEntry *tc = lookup_type_cache(INT8OID, TYPECACHE_GT_OPR);
		OpExpr	   *gt = (OpExpr *) make_opclause(tc->gt_opr, BOOLOID, false,
												  (Expr *) copyObject(cnt),
												  (Expr *) make_count((Node *) y),
												  InvalidOid, InvalidOid);

		set_opfuncid(gt);
		w->expr = (Expr *) gt;
	}
	w->result = (Expr *) int8_const(2);
	w->location = -1;
	mc->args = lappend(mc->args, w);
	mc->defresult = (Expr *) int8_const(1);
	mc->location = -1;
	m = scalar_of(sub, NULL, (Node *) mc);

	ce = makeNode(CaseExpr);
	ce->casetype = BOOLOID;
	w = makeNode(CaseWhen);
	w->expr = (Expr *) eq;
	w->result = (Expr *) makeBoolConst(true, false);
	w->location = -1;
	ce->args = list_make1(w);
	w = makeNode(CaseWhen);
	w->expr = (Expr *) int8_cmp(m, false, 0);
	w->result = (Expr *) makeBoolConst(false, false);
	w->location = -1;
	ce->args = lappend(ce->args, w);
	w = makeNode(CaseWhen);
	nt = makeNode(NullTest);
	nt->arg = (Expr *) copyObject(x);
	nt->nulltesttype = IS_NULL;
	nt->location = -1;
	w->expr = make_orclause(list_make2(int8_cmp(copyObject(m), false, 2), nt));
	w->result = (Expr *) makeBoolConst(false, true);
	w->location = -1;
	ce->args = lappend(ce->args, w);
	ce->defresult = (Expr *) makeBoolConst(false, false);
	ce->location = -1;
	note(c, "IN in an expression: counts of its subquery's equal rows, of all its rows and of its NULLs (SQL's NULL rules), LEFT JOINs to it grouped by its correlation columns");
	return (Node *) ce;
}

/* min(e) of e's type, or NULL when the type has no min aggregate */
static Node *
make_min(Expr *e)
{
	Oid			type = exprType((Node *) e);
	Oid			funcid;
	Oid			rettype;
	bool		retset;
	int			nvargs;
	Oid			vatype;
	Oid		   *true_types;
	List	   *defaults;
	Query	   *q;
	Node	   *agg;
	Node	   *out;
	Aggref	   *a;
	const char *name = "min";

	/* any aggregate returning its only input will do: min, else bool_or */
	if (func_get_detail(list_make2(makeString("pg_catalog"), makeString((char *) name)),
						NIL, NIL, 1, &type, false, false, false,
						&funcid, &rettype, &retset, &nvargs, &vatype,
						&true_types, &defaults) != FUNCDETAIL_AGGREGATE)
	{
		if (getBaseType(type) != BOOLOID)
			return NULL;
		name = "bool_or";
	}
	q = DeltaParseQuery(psprintf("SELECT pg_catalog.%s(NULL::%s)", name,
								 format_type_be_qualified(type)));
	agg = (Node *) linitial_node(TargetEntry, q->targetList)->expr;
	if (!IsA(agg, Aggref))
		return NULL;
	a = (Aggref *) agg;
	/* its argument: e (through the parser's coercion, if any) */
	{
		TargetEntry *arg = linitial_node(TargetEntry, a->args);
		Node	   *inner = (Node *) arg->expr;

		if (IsA(inner, Const))
			arg->expr = (Expr *) copyObject(e);
		else if (IsA(inner, RelabelType) && IsA(((RelabelType *) inner)->arg, Const))
			((RelabelType *) inner)->arg = (Expr *) copyObject(e);
		else
			return NULL;
	}
	if (OidIsValid(exprCollation((Node *) e)))
	{
		a->inputcollid = exprCollation((Node *) e);
		if (OidIsValid(a->aggcollid))
			a->aggcollid = exprCollation((Node *) e);
	}
	out = coerce_to_target_type(NULL, agg, exprType(agg), type, exprTypmod((Node *) e),
								COERCION_EXPLICIT, COERCE_IMPLICIT_CAST, -1);
	if (out != NULL && OidIsValid(exprCollation((Node *) e)) && out != agg)
		out = (Node *) makeRelabelType((Expr *) out, type, exprTypmod((Node *) e),
									   exprCollation((Node *) e), COERCE_IMPLICIT_CAST);
	return out;
}

/* (SELECT e FROM ...) without an aggregate */
static Node *
rewrite_scalar(SubLink *sl, SublinkContext *c)
{
	Query	   *sub = castNode(Query, sl->subselect);
	Expr	   *e;
	Node	   *min;
	Oid			argtypes[2] = {INT8OID, ANYELEMENTOID};
	FuncExpr   *f;

	if (sub->hasAggs || sub->distinctClause != NIL)
		return NULL;
	e = only_output(sub);
	if (e == NULL || !simple_subquery(sub, true, c->uncorrelated_only))
		return NULL;
	min = make_min(e);
	if (min == NULL)
		return NULL;
	f = makeFuncExpr(LookupFuncName(list_make2(makeString("pgtrickle"), makeString("_one_row")),
									2, argtypes, false),
					 exprType((Node *) e),
					 list_make2(scalar_of(sub, NULL, make_count(NULL)),
								scalar_of(sub, NULL, min)),
					 InvalidOid, exprCollation((Node *) e), COERCE_EXPLICIT_CALL);
	note(c, "scalar subquery without an aggregate: its count(*) and min(value), LEFT JOINs to it grouped by its correlation columns; more than one row for an outer row raises 21000");
	return (Node *) f;
}

static Node *
rewrite_expr(Node *node, SublinkContext *c)
{
	bool		saved;
	Node	   *r;

	if (node == NULL)
		return NULL;
	if (IsA(node, SubLink))
	{
		SubLink    *sl = (SubLink *) node;

		r = NULL;
		if (sl->subLinkType == EXISTS_SUBLINK)
			r = rewrite_exists(sl, c);
		else if (sl->subLinkType == ANY_SUBLINK)
			r = rewrite_in(sl, c);
		else if (sl->subLinkType == EXPR_SUBLINK)
			r = rewrite_scalar(sl, c);
		return r != NULL ? r : node;
	}
	/* inside an aggregate's call: left alone (refused by scalar.c) */
	if (IsA(node, Aggref) || IsA(node, Query))
		return node;
	saved = c->positive;
	if (!IsA(node, BoolExpr) || ((BoolExpr *) node)->boolop == NOT_EXPR)
		c->positive = false;
	r = expression_tree_mutator(node, rewrite_expr, c);
	c->positive = saved;
	return r;
}

static Query *
rewrite_level(Query *q, SublinkContext *c)
{
	ListCell   *lc;

	foreach(lc, q->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_SUBQUERY)
			rte->subquery = rewrite_level(rte->subquery, c);
	}
	if (!DeltaSublinksRewritable(q))
		return q;

	/* the select list (not of an aggregate without GROUP BY: scalar.c) */
	if (!(q->hasAggs && q->groupClause == NIL))
	{
		c->positive = false;
		c->uncorrelated_only = false;
		q->targetList = (List *) rewrite_expr((Node *) q->targetList, c);
	}

	/* WHERE: the conjuncts the semi-join rule does not take */
	if (q->jointree->quals != NULL)
	{
		List	   *conds = NIL;

		foreach(lc, make_ands_implicit((Expr *) q->jointree->quals))
		{
			Node	   *cond = lfirst(lc);

			if (checkExprHasSubLink(cond) && !DeltaIsSemiJoinCondition(cond))
			{
				c->positive = true;
				c->uncorrelated_only = false;
				cond = rewrite_expr(cond, c);
			}
			conds = lappend(conds, cond);
		}
		q->jointree->quals = (Node *) make_ands_explicit(conds);
	}

	/* HAVING under GROUP BY: uncorrelated ones (scalar.c) */
	if (q->havingQual != NULL && q->groupClause != NIL)
	{
		c->positive = true;
		c->uncorrelated_only = true;
		q->havingQual = rewrite_expr(q->havingQual, c);
	}
	return q;
}

/*
 * The query with each EXISTS/IN/= ANY the semi-join rule does not take,
 * and each scalar subquery without an aggregate, rewritten into aggregate
 * scalar subqueries (at every level); those it cannot keep exact are left
 * in place, refused by the rules that follow.  notes (may be NULL)
 * receives one line per rewrite.
 */
Query *
DeltaSublinkRewrite(Query *q, StringInfo notes)
{
	SublinkContext c = {false, false, notes};

	return rewrite_level(q, &c);
}
