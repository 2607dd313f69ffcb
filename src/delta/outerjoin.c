/*-------------------------------------------------------------------------
 *
 * outerjoin.c
 *	  The delta of an outer join (LEFT, RIGHT, FULL JOIN).
 *
 * An outer join of two FROM items K and N on a condition theta is its
 * inner join plus, for each row of a preserved side, one row with the other
 * side's columns NULL when no row of the other side matches it:
 *
 *	 K LEFT JOIN N = (K JOIN N) + NULLEXT(rows of K with no match in N)
 *
 * The inner join's delta is the telescoping rule of rewrite.c.  The
 * NULL-extended rows of K change in two ways (src/delta/README.md, "Outer
 * joins", gives the derivation):
 *
 *	 (a) a row of DELTA(K) with no match in NEW(N), with its multiplicity;
 *	 (b) a row of OLD(K) = NEW(K) + NEG_DELTA(K) that matches some row of
 *		 DELTA(N) and whose match status flipped: +1 when it has no match in
 *		 NEW(N) but had one in OLD(N) (its last match went), -1 when it has
 *		 one now and had none (its first match came).
 *
 * Each term is a copy of the item's query in which K is replaced by one of
 * its versions, N by one row of NULLs, and the join by a WHERE that probes
 * N through correlated subqueries (EXISTS, EXISTS past the first d
 * matches, the sum of multiplicities of OLD(N)) or, when N is a table that
 * an equality of theta reaches, counts the matches of the touched rows by
 * a join of N (counted_sql); the rows of a relation K
 * that a change of N touches are found once each, with the change of their
 * match count, by their ctid or their place in K's change set
 * (touched_term) or, for a subquery K, by their place in the set of K's
 * rows that theta's equalities reach from the change of N, materialised
 * once.  Every term starts from a change set and reaches the sides only
 * through their join keys.
 *
 * Outer joins elsewhere in a query (chains, mixed with inner joins, under
 * aggregates) are first made into such items (DeltaNormalizeOuterJoins):
 * each outer join, with its two inputs, becomes a subquery in FROM, so the
 * rest of the engine sees only items and inner joins.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_operator.h"
#include "access/sysattr.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/ruleutils.h"

#include "compat.h"
#include "delta/delta.h"

static bool
is_outer(JoinType jointype)
{
	return jointype == JOIN_LEFT || jointype == JOIN_RIGHT || jointype == JOIN_FULL;
}

static bool
has_outer(Node *jt)
{
	if (jt == NULL || IsA(jt, RangeTblRef))
		return false;
	if (IsA(jt, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) jt)->fromlist)
			if (has_outer(lfirst(lc)))
				return true;
		return false;
	}
	if (IsA(jt, JoinExpr))
	{
		JoinExpr   *j = (JoinExpr *) jt;

		return is_outer(j->jointype) || has_outer(j->larg) || has_outer(j->rarg);
	}
	return false;
}

/*
 * An input the rule can read in every version: a relation or a subquery
 * (a VALUES list, for one, becomes a subquery first).
 */
static bool
is_plain_item(Query *q, Node *jt)
{
	RangeTblEntry *rte;

	if (!IsA(jt, RangeTblRef))
		return false;
	rte = rt_fetch(((RangeTblRef *) jt)->rtindex, q->rtable);
	return rte->rtekind == RTE_RELATION || rte->rtekind == RTE_SUBQUERY;
}

static bool
reads_join_columns(Node *node, Query *q)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		return var->varlevelsup == 0 &&
			(rt_fetch(var->varno, q->rtable)->rtekind == RTE_JOIN ||
			 (var->varnosyn > 0 && (int) var->varnosyn != (int) var->varno));
	}
	if (IsA(node, Query))
		return false;
	return expression_tree_walker(node, reads_join_columns, q);
}

/* Whether a query's FROM has an outer join somewhere. */
bool
DeltaHasOuterJoin(Query *q)
{
	return q->setOperations == NULL && has_outer((Node *) q->jointree);
}

/*
 * Whether a query is one outer join of two items and nothing else: a
 * select list over "K LEFT|RIGHT|FULL JOIN N ON theta", no WHERE, no
 * grouping.  Such a query has its own delta rule.
 */
bool
DeltaIsOuterJoinItem(Query *q)
{
	JoinExpr   *j;

	if (q->setOperations != NULL || q->jointree == NULL ||
		q->jointree->quals != NULL || list_length(q->jointree->fromlist) != 1 ||
		q->hasAggs || q->groupClause != NIL || q->distinctClause != NIL ||
		q->havingQual != NULL)
		return false;
	if (!IsA(linitial(q->jointree->fromlist), JoinExpr))
		return false;
	j = linitial_node(JoinExpr, q->jointree->fromlist);
	if (!is_outer(j->jointype) || !is_plain_item(q, j->larg) || !is_plain_item(q, j->rarg))
		return false;

	/*
	 * The terms change the join's type and condition: that is only
	 * possible when nothing reads the join's own columns (a USING column
	 * of a FULL JOIN is a COALESCE of both sides) or prints through its
	 * name; otherwise DeltaNormalizeOuterJoins makes it so first.
	 */
	return j->usingClause == NIL && !j->isNatural && j->alias == NULL &&
		!reads_join_columns((Node *) q->targetList, q);
}

/* ---------------------------------------------------------------------
 * Normalisation: every outer join becomes an item
 * ---------------------------------------------------------------------
 */

typedef struct NormContext
{
	Query	   *q;				/* the query being rewritten */
	int			nitems;			/* subqueries made so far (for their names) */
} NormContext;

/*
 * A reference to a join's output column stands for an expression over the
 * join's inputs (a merged USING column is COALESCE(a.x, b.x) in a FULL
 * JOIN): replace each by what it stands for, so that only base items are
 * referenced and joins can be rearranged.  References print as what they
 * are, not through the join's name (varnosyn).
 */
static Node *
flatten_join_refs(Node *node, Query *q)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		if (var->varlevelsup != 0)
			return node;
		if (rt_fetch(var->varno, q->rtable)->rtekind == RTE_JOIN)
		{
			RangeTblEntry *rte = rt_fetch(var->varno, q->rtable);

			return flatten_join_refs(copyObject(list_nth(rte->joinaliasvars,
														 var->varattno - 1)), q);
		}
		var = copyObject(var);
		var->varnosyn = var->varno;
		var->varattnosyn = var->varattno;
		return (Node *) var;
	}
	if (IsA(node, Query))
		return node;
	return expression_tree_mutator(node, flatten_join_refs, q);
}

/*
 * An entry the query no longer reads: a result with no columns, which
 * ruleutils names but never prints.  A join entry left in the range table
 * without its join would break the deparser.
 */
static void
make_unused(RangeTblEntry *rte)
{
	rte->rtekind = RTE_RESULT;
	rte->relid = InvalidOid;
	rte->relkind = 0;
	rte->rellockmode = 0;
	rte->tablesample = NULL;
	rte->subquery = NULL;
	rte->security_barrier = false;
	rte->jointype = JOIN_INNER;
	rte->joinmergedcols = 0;
	rte->joinaliasvars = NIL;
	rte->joinleftcols = NIL;
	rte->joinrightcols = NIL;
	rte->join_using_alias = NULL;
	rte->functions = NIL;
	rte->values_lists = NIL;
	rte->inh = false;
	rte->lateral = false;
	rte->alias = NULL;
	rte->eref = makeAlias("__pgt_unused", NIL);
	pgt_rte_clear_permissions(rte);
}

/* The range table indexes of a join tree's items and joins. */
static void
collect_rels(Node *jt, Bitmapset **rels)
{
	if (IsA(jt, RangeTblRef))
		*rels = bms_add_member(*rels, ((RangeTblRef *) jt)->rtindex);
	else if (IsA(jt, JoinExpr))
	{
		JoinExpr   *j = (JoinExpr *) jt;

		*rels = bms_add_member(*rels, j->rtindex);
		collect_rels(j->larg, rels);
		collect_rels(j->rarg, rels);
	}
	else if (IsA(jt, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) jt)->fromlist)
			collect_rels(lfirst(lc), rels);
	}
}

typedef struct WrapContext
{
	Bitmapset  *rels;			/* what moves into the subquery */
	Node	   *skip;			/* the moved join tree (not walked) */
	List	   *vars;			/* Var *: the columns read outside it */
	int			rtindex;		/* the subquery's index, when remapping */
} WrapContext;

static bool
collect_vars(Node *node, WrapContext *c)
{
	if (node == NULL || node == c->skip)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;
		ListCell   *lc;

		if (var->varlevelsup != 0 || !bms_is_member(var->varno, c->rels))
			return false;
		foreach(lc, c->vars)
		{
			Var		   *seen = lfirst(lc);

			if (seen->varno == var->varno && seen->varattno == var->varattno)
				return false;
		}
		c->vars = lappend(c->vars, copyObject(var));
		return false;
	}
	if (IsA(node, Query))
		return false;
	return expression_tree_walker(node, collect_vars, c);
}

static bool
remap_vars(Node *node, WrapContext *c)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;
		ListCell   *lc;
		int			k = 0;

		if (var->varlevelsup != 0 || !bms_is_member(var->varno, c->rels))
			return false;
		foreach(lc, c->vars)
		{
			Var		   *seen = lfirst(lc);

			k++;
			if (seen->varno == var->varno && seen->varattno == var->varattno)
			{
				var->varno = c->rtindex;
				var->varattno = k;
				var->varnosyn = var->varno;
				var->varattnosyn = var->varattno;
				pgt_var_clear_nullingrels(var);
				return false;
			}
		}
		elog(ERROR, "column of a moved join input not found");
	}
	if (IsA(node, Query))
		return false;
	return expression_tree_walker(node, remap_vars, c);
}

typedef bool (*ExprWalker) (Node *node, void *context);

/*
 * Apply a walker to every expression of a query level: select list, FROM
 * (every ON), WHERE, HAVING and, from 18, the grouped expressions.
 */
static void
walk_query_exprs(Query *q, ExprWalker walker, void *context)
{
	ListCell   *lc;

	(void) walker((Node *) q->targetList, context);
	(void) walker((Node *) q->jointree, context);
	(void) walker(q->havingQual, context);
	foreach(lc, q->rtable)
	{
		List	  **exprs = pgt_rte_group_exprs(lfirst_node(RangeTblEntry, lc));

		if (exprs != NULL)
			(void) walker((Node *) *exprs, context);
	}
}

/*
 * Turn the inner joins of a join tree into a list of items and conditions
 * (an inner join is a cross product filtered by its condition); outer
 * joins (already items in the caller's order of work) stay.
 */
static void
flatten_inner(Query *q, Node *jt, List **items, List **quals)
{
	if (IsA(jt, FromExpr))
	{
		FromExpr   *f = (FromExpr *) jt;
		ListCell   *lc;

		foreach(lc, f->fromlist)
			flatten_inner(q, lfirst(lc), items, quals);
		if (f->quals)
			*quals = lappend(*quals, f->quals);
	}
	else if (IsA(jt, JoinExpr) && ((JoinExpr *) jt)->jointype == JOIN_INNER)
	{
		JoinExpr   *j = (JoinExpr *) jt;

		flatten_inner(q, j->larg, items, quals);
		flatten_inner(q, j->rarg, items, quals);
		if (j->quals)
			*quals = lappend(*quals, j->quals);
		make_unused(rt_fetch(j->rtindex, q->rtable));
	}
	else
		*items = lappend(*items, jt);
}

static FromExpr *
flat_from(Query *q, Node *jt)
{
	List	   *items = NIL;
	List	   *quals = NIL;

	flatten_inner(q, jt, &items, &quals);
	return makeFromExpr(items, quals == NIL ? NULL :
						list_length(quals) == 1 ? linitial(quals) :
						(Node *) makeBoolExpr(AND_EXPR, quals, -1));
}

/*
 * Move the join tree at *slot into a subquery in FROM that outputs the
 * columns the rest of the query reads of it; *slot becomes a reference to
 * the subquery and those references read its columns.
 */
static void
wrap(NormContext *nc, Node **slot)
{
	Query	   *q = nc->q;
	Node	   *node = *slot;
	WrapContext c = {NULL, node, NIL, 0};
	Query	   *s = makeNode(Query);
	RangeTblEntry *rte;
	RangeTblRef *ref;
	List	   *names = NIL;
	ListCell   *lc;
	int			k = 0;
	char	   *name;

	collect_rels(node, &c.rels);
	walk_query_exprs(q, (ExprWalker) collect_vars, &c);

	s->commandType = CMD_SELECT;
	s->querySource = QSRC_ORIGINAL;
	s->canSetTag = true;
	s->rtable = copyObject(q->rtable);
	pgt_query_copy_perminfos(s, q);
	for (int i = 1; i <= list_length(s->rtable); i++)
		if (!bms_is_member(i, c.rels))
			make_unused(rt_fetch(i, s->rtable));
	s->jointree = flat_from(s, node);
	foreach(lc, c.vars)
	{
		char	   *col = psprintf("__pgt_j%d", ++k);

		s->targetList = lappend(s->targetList,
								makeTargetEntry(copyObject(lfirst(lc)), k, col, false));
		names = lappend(names, makeString(col));
	}
	if (s->targetList == NIL)
	{
		/* nothing is read of it but its rows: one constant column */
		s->targetList = list_make1(makeTargetEntry((Expr *) makeBoolConst(true, false),
												   1, pstrdup("__pgt_j1"), false));
		names = list_make1(makeString(pstrdup("__pgt_j1")));
	}

	name = psprintf("__pgt_oj%d", ++nc->nitems);
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_SUBQUERY;
	rte->subquery = s;
	rte->alias = makeAlias(name, NIL);
	rte->eref = makeAlias(name, names);
	rte->inFromCl = true;
	q->rtable = lappend(q->rtable, rte);
	c.rtindex = list_length(q->rtable);

	ref = makeNode(RangeTblRef);
	ref->rtindex = c.rtindex;
	*slot = (Node *) ref;
	walk_query_exprs(q, (ExprWalker) remap_vars, &c);
	for (int i = 1; i < c.rtindex; i++)
		if (bms_is_member(i, c.rels))
			make_unused(rt_fetch(i, q->rtable));
}

/* The type of column attno of a FROM item (a relation or a subquery). */
void
DeltaItemColumnType(RangeTblEntry *rte, int attno, Oid *type, int32 *typmod, Oid *coll)
{
	if (rte->rtekind == RTE_RELATION)
		get_atttypetypmodcoll(rte->relid, attno, type, typmod, coll);
	else
	{
		TargetEntry *tle = list_nth_node(TargetEntry, rte->subquery->targetList, attno - 1);

		*type = exprType((Node *) tle->expr);
		*typmod = exprTypmod((Node *) tle->expr);
		*coll = exprCollation((Node *) tle->expr);
	}
}

/*
 * Give an outer join whose inputs are now plain items a range table entry
 * that describes them (the deparser reads the join's columns from it),
 * after its inputs, and drop USING, NATURAL and the join's alias: every
 * reference to its columns was flattened.
 */
void
DeltaRebuildJoin(Query *q, JoinExpr *j)
{
	RangeTblEntry *rte = makeNode(RangeTblEntry);
	List	   *names = NIL;
	Node	   *sides[2] = {j->larg, j->rarg};

	rte->rtekind = RTE_JOIN;
	rte->jointype = j->jointype;
	rte->inFromCl = true;
	for (int side = 0; side < 2; side++)
	{
		int			rt = castNode(RangeTblRef, sides[side])->rtindex;
		RangeTblEntry *in = rt_fetch(rt, q->rtable);
		ListCell   *lc;
		int			attno = 0;

		foreach(lc, in->eref->colnames)
		{
			const char *col = strVal(lfirst(lc));
			Oid			type;
			int32		typmod;
			Oid			coll;

			attno++;
			if (col[0] == '\0')
				continue;		/* a dropped column */
			DeltaItemColumnType(in, attno, &type, &typmod, &coll);
			rte->joinaliasvars = lappend(rte->joinaliasvars,
										 makeVar(rt, attno, type, typmod, coll, 0));
			names = lappend(names, makeString(pstrdup(col)));
			if (side == 0)
				rte->joinleftcols = lappend_int(rte->joinleftcols, attno);
			else
				rte->joinrightcols = lappend_int(rte->joinrightcols, attno);
		}
	}
	rte->eref = makeAlias("unnamed_join", names);
	make_unused(rt_fetch(j->rtindex, q->rtable));
	q->rtable = lappend(q->rtable, rte);
	j->rtindex = list_length(q->rtable);
	j->usingClause = NIL;
	j->isNatural = false;
	j->alias = NULL;
	j->join_using_alias = NULL;
}

static void
normalize_jointree(NormContext *nc, Node **slot)
{
	Node	   *node = *slot;
	JoinExpr   *j;

	if (IsA(node, RangeTblRef))
		return;
	if (IsA(node, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) node)->fromlist)
			normalize_jointree(nc, (Node **) &lfirst(lc));
		return;
	}
	j = castNode(JoinExpr, node);
	normalize_jointree(nc, &j->larg);
	normalize_jointree(nc, &j->rarg);
	if (!is_outer(j->jointype))
		return;
	if (!is_plain_item(nc->q, j->larg))
		wrap(nc, &j->larg);
	if (!is_plain_item(nc->q, j->rarg))
		wrap(nc, &j->rarg);
	DeltaRebuildJoin(nc->q, j);
	wrap(nc, slot);
}

/*
 * A copy of q in which every outer join, with its two inputs, is a
 * subquery in FROM that DeltaIsOuterJoinItem recognises; inner joins
 * become items and WHERE conditions.  The result is only deparsed.
 */
Query *
DeltaNormalizeOuterJoins(Query *q)
{
	NormContext nc;
	ListCell   *lc;

	q = copyObject(q);
	nc.q = q;
	nc.nitems = 0;
	q->targetList = (List *) flatten_join_refs((Node *) q->targetList, q);
	q->jointree = (FromExpr *) flatten_join_refs((Node *) q->jointree, q);
	q->havingQual = flatten_join_refs(q->havingQual, q);
	foreach(lc, q->rtable)
	{
		List	  **exprs = pgt_rte_group_exprs(lfirst_node(RangeTblEntry, lc));

		if (exprs != NULL)
			*exprs = (List *) flatten_join_refs((Node *) *exprs, q);
	}
	normalize_jointree(&nc, (Node **) &q->jointree);
	q->jointree = flat_from(q, (Node *) q->jointree);
	return q;
}

/* ---------------------------------------------------------------------
 * The delta of one outer join item
 * ---------------------------------------------------------------------
 */

/*
 * The join condition with its references to the preserved side k moved to
 * range table entry kto, kup levels up, and those to the other side n to
 * entry nto of the current level.
 */
static Node *
theta_remap(Node *theta, int k, int kto, int kup, int n, int nto)
{
	Node	   *copy = copyObject(theta);
	List	   *vars = pull_var_clause(copy, PVC_RECURSE_AGGREGATES |
									   PVC_RECURSE_WINDOWFUNCS |
									   PVC_RECURSE_PLACEHOLDERS);
	ListCell   *lc;

	foreach(lc, vars)
	{
		Var		   *var = lfirst(lc);

		if (var->varno == n)
			var->varno = nto;
		else if (var->varno == k)
		{
			var->varno = kto;
			var->varlevelsup = kup;
		}
		else
			elog(ERROR, "outer join condition reads an item outside the join");
		var->varnosyn = var->varno;
		var->varattnosyn = var->varattno;
	}
	return copy;
}

/*
 * The join condition as the WHERE of a subquery over one version of the
 * NULL-extended side n (its only entry), correlated to the preserved side
 * k of the term.
 */
static Node *
theta_for_probe(Node *theta, int k, int n)
{
	return theta_remap(theta, k, k, 1, n, 1);
}

static Query *
probe_query(RangeTblEntry *rte, Node *theta)
{
	Query	   *sq = makeNode(Query);
	RangeTblRef *ref = makeNode(RangeTblRef);

	pgt_rte_clear_permissions(rte);
	ref->rtindex = 1;
	sq->commandType = CMD_SELECT;
	sq->querySource = QSRC_ORIGINAL;
	sq->canSetTag = true;
	sq->rtable = list_make1(rte);
	sq->jointree = makeFromExpr(list_make1(ref), theta);
	return sq;
}

/* EXISTS (SELECT FROM <rte> WHERE theta) */
static Expr *
exists_match(RangeTblEntry *rte, Node *theta)
{
	SubLink    *sl = makeNode(SubLink);

	sl->subLinkType = EXISTS_SUBLINK;
	sl->subselect = (Node *) probe_query(rte, theta);
	sl->location = -1;
	return (Expr *) sl;
}

typedef struct PointContext
{
	int			varno;
	int			attno;
} PointContext;

/* Make the references to range table entry varno read column attno. */
static bool
point_at_multiplicity(Node *node, PointContext *c)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		if (var->varlevelsup == 0 && var->varno == c->varno)
		{
			var->varattno = c->attno;
			var->varattnosyn = c->attno;
		}
		return false;
	}
	return expression_tree_walker(node, point_at_multiplicity, c);
}

/*
 * Whether the OLD version of n (rte) had a row matching:
 * (SELECT COALESCE(sum(__pgt_m), 0) <> 0 FROM OLD(n) WHERE theta).
 * OLD(n) is NEW(n) with multiplicity 1 and its change with the negated
 * multiplicity; the multiplicities of the matching rows add up to the
 * number of matches the row had, so a non-zero sum is "had a match".
 */
static Expr *
old_had_match(RangeTblEntry *rte, Node *theta)
{
	Query	   *tq = DeltaParseQuery("SELECT COALESCE(pg_catalog.sum(x.m), 0::pg_catalog.numeric)"
									 " OPERATOR(pg_catalog.<>) 0::pg_catalog.numeric"
									 " FROM (SELECT 1::pg_catalog.int8 AS m) x");
	Query	   *probe = probe_query(rte, theta);
	SubLink    *sl = makeNode(SubLink);
	PointContext pc = {1, list_length(rte->eref->colnames)};

	(void) point_at_multiplicity((Node *) tq->targetList, &pc);
	probe->targetList = tq->targetList;
	probe->hasAggs = true;
	sl->subLinkType = EXPR_SUBLINK;
	sl->subselect = (Node *) probe;
	sl->location = -1;
	return (Expr *) sl;
}

/* One row of NULLs with the columns of a FROM item (and __pgt_m = 1). */
static char *
null_row_sql(RangeTblEntry *rte)
{
	if (rte->rtekind == RTE_RELATION)
		return psprintf("SELECT %s, 1::pg_catalog.int8 AS __pgt_m FROM (SELECT) z"
						" LEFT JOIN %s r ON false",
						DeltaRelationColumns(rte->relid, "r"),
						quote_qualified_identifier(get_namespace_name(get_rel_namespace(rte->relid)),
												   get_rel_name(rte->relid)));
	return psprintf("SELECT s.*, 1::pg_catalog.int8 AS __pgt_m FROM (SELECT) z"
					" LEFT JOIN (%s) s(%s) ON false",
					pg_get_querydef(rte->subquery, false),
					DeltaPositionalNames(list_length(rte->eref->colnames)));
}

static Expr *
int8_const(int64 v)
{
	return (Expr *) makeConst(INT8OID, -1, InvalidOid, 8, Int64GetDatum(v), false, FLOAT8PASSBYVAL);
}

/*
 * A copy of the item s whose preserved side k reads version kv, whose
 * other side n is a row of NULLs, and whose join is a cross join: the
 * caller adds the WHERE.
 */
static Query *
null_extended_frame(DeltaContext *ctx, Query *s, int k, ItemVersion kv, int n)
{
	Query	   *t = copyObject(s);
	JoinExpr   *j = linitial_node(JoinExpr, t->jointree->fromlist);
	RangeTblEntry *krte = rt_fetch(k, t->rtable);
	RangeTblEntry *nrte = rt_fetch(n, t->rtable);

	if (kv != V_NEW)
		DeltaReplaceWithSubquery(krte, DeltaVersionSql(ctx, krte, kv));
	DeltaReplaceWithSubquery(nrte, null_row_sql(nrte));
	j->jointype = JOIN_INNER;
	j->quals = (Node *) makeBoolConst(true, false);
	t->hasSubLinks = true;
	return t;
}

static Expr *
multiplicity_of(Query *t, int k, ItemVersion kv)
{
	if (kv == V_NEW)
		return NULL;
	return (Expr *) makeVar(k, list_length(rt_fetch(k, t->rtable)->eref->colnames),
							INT8OID, -1, InvalidOid, 0);
}

static RangeTblEntry *
version_rte(DeltaContext *ctx, RangeTblEntry *rte, ItemVersion v)
{
	RangeTblEntry *copy = copyObject(rte);

	if (v != V_NEW)
		DeltaReplaceWithSubquery(copy, DeltaVersionSql(ctx, copy, v));
	return copy;
}

/*
 * NEW(n) for a probe by theta (theta_for_probe's form).  A grouped
 * subquery gets theta's key conditions inside it (groupprobe.c): the probe
 * then reads the groups of the probed row's key through the group key's
 * index, and the planner no longer makes the probe a join that aggregates
 * the whole subquery (the probe is correlated inside its FROM).
 */
static RangeTblEntry *
new_by_key(DeltaContext *ctx, RangeTblEntry *nrte, Node *theta, int k, int n)
{
	RangeTblEntry *copy = version_rte(ctx, nrte, V_NEW);

	if (copy->rtekind == RTE_SUBQUERY)
		(void) DeltaGroupedRestrict(copy->subquery, 1,
									theta_for_probe(theta, k, n), NULL);
	return copy;
}

/*
 * Whether a FROM item's rows are identified by their ctid: a plain table
 * without inheritance children (a partition or child would repeat ctids).
 */
static bool
ctid_identifies(RangeTblEntry *rte)
{
	return rte->rtekind == RTE_RELATION &&
		get_rel_relkind(rte->relid) == RELKIND_RELATION &&
		!has_subclass(rte->relid);
}

/*
 * An expression parsed over "(SELECT ... AS d) a" with a.d replaced by the
 * expression d (the change of a row's match count).
 */
static Node *
fill_placeholder(Node *node, Node *d)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Var) && ((Var *) node)->varlevelsup == 0 && ((Var *) node)->varno == 1)
		return copyObject(d);
	return expression_tree_mutator(node, fill_placeholder, d);
}

/* Whether every Var of an expression reads range table entry varno. */
static bool
reads_only(Node *expr, int varno)
{
	List	   *vars = pull_var_clause(expr, PVC_RECURSE_AGGREGATES |
									   PVC_RECURSE_WINDOWFUNCS |
									   PVC_RECURSE_PLACEHOLDERS);
	ListCell   *lc;

	if (vars == NIL)
		return false;
	foreach(lc, vars)
		if (((Var *) lfirst(lc))->varno != varno || ((Var *) lfirst(lc))->varlevelsup != 0)
			return false;
	return true;
}

/*
 * The conjuncts of theta that equate an expression of k with one of n
 * through an operator a join can hash or merge on ("k.a = n.b"): a row of
 * k that a row x of n matches has k.a = x.b, so it is among the rows of k
 * whose a is one of the values b takes in a set of rows of n — found by a
 * semi-join that the planner runs from the distinct values of b, reaching
 * k through an index on a.  NIL when theta has none (an uncorrelated or
 * non-equi condition, an IS NULL test of the outer row).
 */
static List *
equality_driver(Node *theta, int k, int n)
{
	List	   *driver = NIL;
	ListCell   *lc;

	foreach(lc, make_ands_implicit((Expr *) theta))
	{
		OpExpr	   *op = lfirst(lc);
		Node	   *a;
		Node	   *b;
		Oid			lefttype;

		if (!IsA(op, OpExpr) || list_length(op->args) != 2 || op->opresulttype != BOOLOID ||
			op->opretset)
			continue;
		a = linitial(op->args);
		b = lsecond(op->args);
		lefttype = exprType(a);
		if (!op_mergejoinable(op->opno, lefttype) && !op_hashjoinable(op->opno, lefttype))
			continue;
		if ((reads_only(a, k) && reads_only(b, n)) || (reads_only(a, n) && reads_only(b, k)))
			driver = lappend(driver, op);
	}
	return driver;
}

/*
 * The rows of version kv of a subquery item k that some row of DELTA(n)
 * may match (driver: equality_driver), numbered once: a MATERIALIZED WITH
 * item is evaluated once per statement, so the number identifies a row
 * however often the term reads it.  Named k(<k's columns positionally>,
 * __pgt_m, __pgt_i), as touched_term reads its input.
 */
static char *
candidates_sql(DeltaContext *ctx, Query *s, int k, int n, List *driver, ItemVersion kv)
{
	RangeTblEntry *krte = rt_fetch(k, s->rtable);
	RangeTblEntry *nrte = rt_fetch(n, s->rtable);
	char	   *names = DeltaPositionalNames(list_length(krte->eref->colnames));
	char	   *version;
	Query	   *cq;

	if (kv == V_NEW)
		version = psprintf("SELECT s.*, 1::pg_catalog.int8 AS __pgt_m FROM (%s) s(%s)",
						   pg_get_querydef(krte->subquery, false), names);
	else
		version = DeltaVersionSql(ctx, krte, kv);
	cq = DeltaParseQuery(psprintf("SELECT v.* FROM (%s) v(%s, __pgt_m)", version, names));
	cq->jointree->quals = (Node *)
		exists_match(version_rte(ctx, nrte, V_DELTA),
					 theta_remap((Node *) make_ands_explicit(driver), k, 1, 1, n, 1));
	cq->hasSubLinks = true;
	return psprintf("(WITH __pgt_t AS MATERIALIZED (SELECT c.*, pg_catalog.row_number() OVER () AS __pgt_i"
					" FROM (%s) c) SELECT * FROM __pgt_t) k(%s, __pgt_m, __pgt_i)",
					pg_get_querydef(cq, false), names);
}

/*
 * Whether term (b) counts the matches of its touched rows by a join: when
 * n is a table and theta has an equality between the two sides
 * (equality_driver), so that the join reaches n through the key's index
 * and the planner costs it with the number of touched rows as its loop
 * count.  Otherwise (n a subquery, which a join could not reach by key;
 * no such equality, where a join would pair every touched row with every
 * row of n) the probe below, which stops after d + 1 matches.
 */
static bool
counted_by_join(RangeTblEntry *nrte, Node *theta, int k, int n)
{
	return nrte->rtekind == RTE_RELATION && equality_driver(theta, k, n) != NIL;
}

/* The first SubLink of an expression tree (*found). */
static bool
first_sublink(Node *node, SubLink **found)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubLink))
	{
		*found = (SubLink *) node;
		return true;
	}
	return expression_tree_walker(node, first_sublink, found);
}

/*
 * The touched rows of a version of k (touched, touched_term's window
 * query: k's columns positionally, __pgt_m, __pgt_i, __pgt_d, __pgt_rn),
 * once each, that flipped, decided by joins of the table n (src/delta/
 * README.md, "Outer joins", Cost) rather than by a probe per row:
 *
 *	 WITH j AS MATERIALIZED (SELECT DISTINCT ON (w.i) w.* FROM touched w
 *							  WHERE d <> 0)
 *	 SELECT a.*, 0 FROM j a					-- lost matches: flipped iff none
 *	  WHERE a.d < 0 AND NOT EXISTS (SELECT FROM n y WHERE theta)
 *	 UNION ALL
 *	 SELECT c.* FROM (						-- gained d: flipped iff c = d
 *	   SELECT DISTINCT ON (b.i) b.*, count(y.*) OVER (PARTITION BY b.i) AS c
 *		 FROM j b LEFT JOIN n y ON theta WHERE b.d > 0) c
 *	  WHERE c = d
 *
 * The NOT EXISTS becomes an anti-join, which stops at the first match;
 * both joins reach n by theta's equality with the touched rows as their
 * loop count.  DISTINCT ON, not a filter on a row number, so that the
 * planner estimates the touched rows by the identity's number of distinct
 * values (a filter rn = 1 is taken for 1/200 of the rows); the rows are
 * materialised once, so neither branch reads k's version again.
 */
static char *
counted_sql(Query *s, int k, int n, Node *theta, const char *touched)
{
	RangeTblEntry *nrte = rt_fetch(n, s->rtable);
	char	   *nname = quote_qualified_identifier(get_namespace_name(get_rel_namespace(nrte->relid)),
												   get_rel_name(nrte->relid));
	Query	   *q;
	Query	   *lost;
	Query	   *gained;
	Query	   *probe;
	SubLink    *sl = NULL;

	q = DeltaParseQuery(psprintf("WITH __pgt_j AS MATERIALIZED"
								 " (SELECT DISTINCT ON (w.__pgt_i) w.* FROM (%s) w"
								 " WHERE w.__pgt_d OPERATOR(pg_catalog.<>) 0)"
								 " SELECT a.*, 0::pg_catalog.int8 AS __pgt_n FROM __pgt_j a"
								 " WHERE a.__pgt_d OPERATOR(pg_catalog.<) 0"
								 " AND NOT EXISTS (SELECT FROM %s y WHERE true)"
								 " UNION ALL"
								 " SELECT c.* FROM (SELECT DISTINCT ON (b.__pgt_i) b.*,"
								 " pg_catalog.count(y.*) OVER (PARTITION BY b.__pgt_i) AS __pgt_n"
								 " FROM __pgt_j b LEFT JOIN %s y ON true"
								 " WHERE b.__pgt_d OPERATOR(pg_catalog.>) 0) c"
								 " WHERE c.__pgt_n::pg_catalog.numeric OPERATOR(pg_catalog.=) c.__pgt_d",
								 touched, nname, nname));

	/* rows that lost matches: the anti-join's condition */
	lost = rt_fetch(1, q->rtable)->subquery;
	if (!first_sublink(lost->jointree->quals, &sl))
		elog(ERROR, "anti-join of the touched rows not found");
	probe = castNode(Query, sl->subselect);
	rt_fetch(1, probe->rtable)->inh = nrte->inh;
	probe->jointree->quals = theta_remap(theta, k, 1, 1, n, 1);

	/* rows that gained matches: the counting join's condition */
	gained = rt_fetch(1, rt_fetch(2, q->rtable)->subquery->rtable)->subquery;
	rt_fetch(2, gained->rtable)->inh = nrte->inh;
	linitial_node(JoinExpr, gained->jointree->fromlist)->quals = theta_remap(theta, k, 1, 0, n, 2);
	return pg_get_querydef(q, false);
}

/*
 * Term (b) from a version kv of k whose rows can be told apart: a table
 * read as it is now (by ctid), k's change set (numbered once), or, with a
 * driver (equality_driver), the rows of a subquery item's version that
 * an equality of theta reaches from DELTA(n), materialised and numbered
 * once (candidates_sql).  Each row
 * of it that a change of n matches comes once, with d, the change of its
 * number of matches:
 *
 *	 SELECT k.*, sum(x.__pgt_m) OVER w AS d, row_number() OVER w AS rn
 *	   FROM <k with an identity i> k, DELTA(n) x WHERE θ
 *	 WINDOW w AS (PARTITION BY k.i)		 -- then rn = 1
 *
 * (the change drives it, reaching k by its join key).  With c its match
 * count now, it had c - d, so it flipped when (c = 0) differs from
 * (c = d):
 *
 *	 d = 0  never (the count did not change): no probe at all;
 *	 d < 0  it had c - d > 0 matches, so it flipped iff c = 0, that is iff
 *			n has no first match; +1 (its last match went);
 *	 d > 0  c >= d > 0, so it flipped iff c = d, that is iff n has no
 *			(d + 1)-th match; -1 (its first match came).
 *
 * Both are one probe of n that stops at the first match past an offset:
 *
 *	 NOT EXISTS (SELECT FROM NEW(n) WHERE θ OFFSET greatest(d, 0))
 *
 * One subplan per row, so the planner charges what runs (a CASE choosing
 * between an EXISTS and a count by the sign of d was charged both
 * subplans for every row, which made the delta look dearer than the
 * recomputation it beat), and it reads at most d + 1 matches where a count
 * read all of them.  No pass over a change set per row, unlike the
 * general form.
 *
 * When n is a table that an equality of theta reaches (counted_by_join),
 * the probe is a join instead (counted_sql): a subplan is costed as a cold
 * index scan per call, a join's inner index scan with its loop count.
 */
static char *
touched_term(DeltaContext *ctx, Query *s, int k, int n, Node *theta, ItemVersion kv,
			 List *driver)
{
	Query	   *t = null_extended_frame(ctx, s, k, V_NEW, n);
	RangeTblEntry *krte = rt_fetch(k, t->rtable);
	RangeTblEntry *nrte = rt_fetch(n, s->rtable);
	bool		rel = (krte->rtekind == RTE_RELATION);
	int			ncols = list_length(krte->eref->colnames);
	char	   *names = DeltaPositionalNames(ncols);
	char	   *base;
	Query	   *wq;
	Query	   *exprs = DeltaParseQuery("SELECT pg_catalog.int8(GREATEST(a.d, 0::pg_catalog.numeric)),"
										" CASE WHEN a.d OPERATOR(pg_catalog.<) 0 THEN 1::pg_catalog.int8"
										" ELSE -1::pg_catalog.int8 END"
										" FROM (SELECT 0::pg_catalog.numeric AS d) a");
	RangeTblEntry *x = version_rte(ctx, nrte, V_DELTA);
	StringInfoData cols;
	ListCell   *lc;
	Query	   *probe;
	SubLink    *sl;
	PointContext pc;
	Expr	   *sign;
	int			i = 0;
	bool		by_join = counted_by_join(nrte, theta, k, n);
	char	   *counted = NULL;

	/* k's version with an identity __pgt_i, columns named positionally */
	if (driver != NIL)
		base = candidates_sql(ctx, s, k, n, driver, kv);
	else if (kv == V_NEW)
		base = psprintf("(SELECT %s, 1::pg_catalog.int8 AS __pgt_m, v.ctid AS __pgt_i FROM %s v)"
						" k(%s, __pgt_m, __pgt_i)",
						DeltaRelationColumns(krte->relid, "v"),
						quote_qualified_identifier(get_namespace_name(get_rel_namespace(krte->relid)),
												   get_rel_name(krte->relid)),
						names);
	else
		base = psprintf("(SELECT v.*, pg_catalog.row_number() OVER () AS __pgt_i FROM (%s) v)"
						" k(%s, __pgt_m, __pgt_i)",
						DeltaVersionSql(ctx, krte, kv), names);

	/* its rows that a change of n matches, once each, with d */
	wq = DeltaParseQuery(psprintf("SELECT k.*, pg_catalog.sum(x.m) OVER w AS __pgt_d,"
								  " pg_catalog.row_number() OVER w AS __pgt_rn"
								  " FROM %s, (SELECT 1::pg_catalog.int8 AS m) x"
								  " WINDOW w AS (PARTITION BY k.__pgt_i)", base));
	list_nth_cell(wq->rtable, 1)->ptr_value = x;
	pc.varno = 2;
	pc.attno = list_length(x->eref->colnames);
	(void) point_at_multiplicity((Node *) wq->targetList, &pc);
	wq->jointree->quals = theta_remap(theta, k, 1, 0, n, 2);

	/*
	 * As a version of k: its columns (named as k's versions are), __pgt_m,
	 * d; only the rows whose count changed (d = 0 never flips).  With the
	 * count by a join (counted_by_join), only those that flipped.
	 */
	if (by_join)
		counted = counted_sql(s, k, n, theta, pg_get_querydef(wq, false));
	initStringInfo(&cols);
	foreach(lc, krte->eref->colnames)
	{
		const char *name = strVal(lfirst(lc));

		i++;
		if (rel && name[0] == '\0')
			appendStringInfo(&cols, "NULL::pg_catalog.int4 AS __pgt_dropped_%d, ", i);
		else
			appendStringInfo(&cols, "w.__pgt_c%d AS %s, ", i,
							 rel ? quote_identifier(name) : psprintf("__pgt_c%d", i));
	}
	if (by_join)
		DeltaReplaceWithSubquery(krte, psprintf("SELECT %sw.__pgt_m, w.__pgt_d FROM (%s) w",
												cols.data, counted));
	else
		DeltaReplaceWithSubquery(krte, psprintf("SELECT %sw.__pgt_m, w.__pgt_d FROM (%s) w"
												" WHERE w.__pgt_rn OPERATOR(pg_catalog.=) 1"
												" AND w.__pgt_d OPERATOR(pg_catalog.<>) 0",
												cols.data, pg_get_querydef(wq, false)));
	krte->eref->colnames = lappend(krte->eref->colnames, makeString(pstrdup("__pgt_d")));

	/* flipped: no match of n past the first greatest(d, 0), one probe */
	if (by_join)
		t->jointree->quals = (Node *) makeBoolConst(true, false);
	else
	{
		probe = probe_query(new_by_key(ctx, nrte, theta, k, n), theta_for_probe(theta, k, n));
		probe->limitOffset = fill_placeholder((Node *) linitial_node(TargetEntry, exprs->targetList)->expr,
											  (Node *) makeVar(k, ncols + 2, NUMERICOID, -1, InvalidOid, 1));
		sl = makeNode(SubLink);
		sl->subLinkType = EXISTS_SUBLINK;
		sl->subselect = (Node *) probe;
		sl->location = -1;
		t->jointree->quals = (Node *) makeBoolExpr(NOT_EXPR, list_make1(sl), -1);
	}

	/* +1: the row lost its last match (d < 0); -1: it found its first */
	sign = (Expr *) fill_placeholder((Node *) lsecond_node(TargetEntry, exprs->targetList)->expr,
									 (Node *) makeVar(k, ncols + 2, NUMERICOID, -1, InvalidOid, 0));
	return DeltaTermSql(t, DeltaInt8Product((Expr *) makeVar(k, ncols + 1, INT8OID, -1, InvalidOid, 0),
											sign));
}

/*
 * The change of the rows of the preserved side k that are NULL-extended
 * (no row of n matches them), as UNION ALL terms appended to out.
 */
void
DeltaNullExtendedTerms(DeltaContext *ctx, Query *s, int k, int n,
					   bool kchanged, bool nchanged, StringInfo out)
{
	JoinExpr   *j = linitial_node(JoinExpr, s->jointree->fromlist);
	RangeTblEntry *nrte = rt_fetch(n, s->rtable);
	Node	   *theta = j->quals ? j->quals : (Node *) makeBoolConst(true, false);

	/* (a) changed rows of k that have no match now */
	if (kchanged)
	{
		Query	   *t = null_extended_frame(ctx, s, k, V_DELTA, n);

		t->jointree->quals = (Node *)
			makeBoolExpr(NOT_EXPR,
						 list_make1(exists_match(new_by_key(ctx, nrte, theta, k, n),
												 theta_for_probe(theta, k, n))), -1);
		appendStringInfo(out, " UNION ALL (%s)",
						 DeltaTermSql(t, multiplicity_of(t, k, V_DELTA)));
	}

	/*
	 * (b) rows of OLD(k) = NEW(k) + NEG_DELTA(k) matching a change of n
	 * whose match status flipped
	 */
	if (nchanged)
	{
		ItemVersion kvs[2] = {V_NEW, V_NEG_DELTA};
		List	   *driver = equality_driver(theta, k, n);

		for (int v = 0; v < (kchanged ? 2 : 1); v++)
		{
			Query	   *t;
			Expr	   *touched;
			Expr	   *none_now;
			Expr	   *had;
			Expr	   *flipped;
			CaseExpr   *sign;
			CaseWhen   *when;

			/*
			 * Rows told apart: a table's by ctid, a table's change set
			 * (served in one fixed order) by number, a subquery's by
			 * number once the rows an equality of theta can reach from
			 * DELTA(n) are materialised; otherwise (no such equality, a
			 * table with children) the general form below.
			 */
			if ((kvs[v] == V_NEG_DELTA && rt_fetch(k, s->rtable)->rtekind == RTE_RELATION) ||
				(kvs[v] == V_NEW && ctid_identifies(rt_fetch(k, s->rtable))))
			{
				appendStringInfo(out, " UNION ALL (%s)",
								 touched_term(ctx, s, k, n, theta, kvs[v], NIL));
				continue;
			}
			if (rt_fetch(k, s->rtable)->rtekind == RTE_SUBQUERY && driver != NIL)
			{
				appendStringInfo(out, " UNION ALL (%s)",
								 touched_term(ctx, s, k, n, theta, kvs[v], driver));
				continue;
			}
			t = null_extended_frame(ctx, s, k, kvs[v], n);
			touched = exists_match(version_rte(ctx, nrte, V_DELTA),
								   theta_for_probe(theta, k, n));
			none_now = (Expr *)
				makeBoolExpr(NOT_EXPR,
							 list_make1(exists_match(new_by_key(ctx, nrte, theta, k, n),
													 theta_for_probe(theta, k, n))), -1);
			had = old_had_match(version_rte(ctx, nrte, V_OLD),
								theta_for_probe(theta, k, n));
			sign = makeNode(CaseExpr);
			when = makeNode(CaseWhen);

			/*
			 * No match now and one before, or a match now and none before.
			 * (A change set can hold rows that cancel, so "a change matches
			 * and nothing matches now" does not prove a match before: the
			 * sum over OLD(n) decides.)
			 */
			flipped = (Expr *) make_opclause(BooleanEqualOperator, BOOLOID, false,
											 (Expr *) copyObject(none_now), had,
											 InvalidOid, InvalidOid);
			set_opfuncid((OpExpr *) flipped);
			t->jointree->quals = (Node *) makeBoolExpr(AND_EXPR,
													   list_make2(touched, flipped), -1);
			/* +1: the row lost its last match; -1: it found its first */
			when->expr = none_now;
			when->result = int8_const(1);
			when->location = -1;
			sign->casetype = INT8OID;
			sign->args = list_make1(when);
			sign->defresult = int8_const(-1);
			sign->location = -1;
			appendStringInfo(out, " UNION ALL (%s)",
							 DeltaTermSql(t, DeltaInt8Product(multiplicity_of(t, k, kvs[v]),
															  (Expr *) sign)));
		}
	}
}

/*
 * The delta of an outer join item (DeltaIsOuterJoinItem): the delta of its
 * inner join, and the change of the NULL-extended rows of each preserved
 * side.
 */
char *
DeltaOuterJoinSql(DeltaContext *ctx, Query *s)
{
	JoinExpr   *j = linitial_node(JoinExpr, s->jointree->fromlist);
	int			l = castNode(RangeTblRef, j->larg)->rtindex;
	int			r = castNode(RangeTblRef, j->rarg)->rtindex;
	RangeTblEntry *lrte = rt_fetch(l, s->rtable);
	RangeTblEntry *rrte = rt_fetch(r, s->rtable);
	bool		lchanged = DeltaItemChanges(lrte) && DeltaItemPending(ctx, lrte);
	bool		rchanged = DeltaItemChanges(rrte) && DeltaItemPending(ctx, rrte);
	Query	   *inner = copyObject(s);
	StringInfoData out;

	linitial_node(JoinExpr, inner->jointree->fromlist)->jointype = JOIN_INNER;
	initStringInfo(&out);
	appendStringInfoString(&out, DeltaSql(ctx, inner));
	if (j->jointype == JOIN_LEFT || j->jointype == JOIN_FULL)
		DeltaNullExtendedTerms(ctx, s, l, r, lchanged, rchanged, &out);
	if (j->jointype == JOIN_RIGHT || j->jointype == JOIN_FULL)
		DeltaNullExtendedTerms(ctx, s, r, l, rchanged, lchanged, &out);
	return out.data;
}
