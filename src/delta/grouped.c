/*-------------------------------------------------------------------------
 *
 * grouped.c
 *	  The delta of a grouped query level that is an input of something else:
 *	  a subquery in FROM or a CTE with aggregates, GROUP BY, HAVING or
 *	  DISTINCT, or such a leaf of a set operation.
 *
 * For the group keys the input's delta touches, the delta is minus the
 * groups' rows over the old input plus their rows over the new input; rows
 * equal on both sides cancel.  Both sides are computed by the level's own
 * query over its input restricted to those keys, so the rule is exact for
 * any aggregate it can hold (see src/delta/README.md, "Aggregates and
 * DISTINCT below the top level").
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteManip.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "delta/delta.h"

/* Whether a query level groups its rows (and so has its own delta rule). */
bool
DeltaIsGrouped(Query *q)
{
	return q->setOperations == NULL &&
		(q->hasAggs || q->groupClause != NIL || q->distinctClause != NIL);
}

/* Whether rows of a type can be grouped (an equality and a sort or hash). */
static bool
type_groupable(Oid type)
{
	TypeCacheEntry *tc = lookup_type_cache(type,
										   TYPECACHE_EQ_OPR | TYPECACHE_LT_OPR |
										   TYPECACHE_HASH_PROC);

	return OidIsValid(tc->eq_opr) &&
		(OidIsValid(tc->lt_opr) || OidIsValid(tc->hash_proc));
}

typedef struct RefusalContext
{
	const char *reason;
} RefusalContext;

/*
 * The aggregates a grouped subquery may hold: those whose value is a
 * function of the multiset of its inputs (so recomputing a group gives
 * what the query gives).  Sums and averages of floats are not: their value
 * depends on the order of the rows, and the row a -old term must remove
 * would not be found.  array_agg, string_agg and the like without a
 * complete ORDER BY depend on the order too.
 */
static bool
aggref_refusal_walker(Node *node, RefusalContext *c)
{
	if (node == NULL)
		return false;
	if (IsA(node, Aggref))
	{
		Aggref	   *aggref = (Aggref *) node;
		char	   *name = get_func_name(aggref->aggfnoid);
		Oid			argtype = InvalidOid;

		if (aggref->aggargtypes != NIL)
			argtype = getBaseType(linitial_oid(aggref->aggargtypes));
		if (get_func_namespace(aggref->aggfnoid) != PG_CATALOG_NAMESPACE ||
			aggref->aggkind != AGGKIND_NORMAL ||
			(strcmp(name, "count") != 0 && strcmp(name, "sum") != 0 &&
			 strcmp(name, "avg") != 0 && strcmp(name, "min") != 0 &&
			 strcmp(name, "max") != 0 && strcmp(name, "bool_and") != 0 &&
			 strcmp(name, "bool_or") != 0 && strcmp(name, "every") != 0))
		{
			c->reason = psprintf("aggregate %s in a subquery", name);
			return true;
		}
		if ((strcmp(name, "sum") == 0 || strcmp(name, "avg") == 0) &&
			(argtype == FLOAT4OID || argtype == FLOAT8OID))
		{
			c->reason = psprintf("%s over %s in a subquery (only integer and numeric sums are exact under incremental maintenance)",
								 name, format_type_be(argtype));
			return true;
		}
		return false;
	}
	return expression_tree_walker(node, aggref_refusal_walker, c);
}

/* A column the subquery reads that the old input cannot be netted by. */
static bool
var_refusal_walker(Node *node, RefusalContext *c)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var) && ((Var *) node)->varlevelsup == 0)
	{
		Oid			type = ((Var *) node)->vartype;

		if (!type_groupable(type))
		{
			c->reason = psprintf("a subquery with aggregates or DISTINCT reading a column of type %s, which has no equality operator",
								 format_type_be(type));
			return true;
		}
		return false;
	}
	return expression_tree_walker(node, var_refusal_walker, c);
}

/*
 * Why the differential engine cannot maintain a grouped query level below
 * the top, or NULL.  The rest of the level (FROM, WHERE, expressions) is
 * checked like any query's.
 */
const char *
DeltaGroupedRefusal(Query *q)
{
	RefusalContext c = {NULL};
	ListCell   *lc;
	int			ncols = 0;

	if (q->distinctClause != NIL && (q->hasAggs || q->groupClause != NIL))
		return "DISTINCT together with aggregates or GROUP BY in a subquery";
	foreach(lc, q->targetList)
		if (!lfirst_node(TargetEntry, lc)->resjunk)
			ncols++;
	if (ncols == 0)
		return "a subquery with aggregates and no output column";
	if (aggref_refusal_walker((Node *) q->targetList, &c) ||
		aggref_refusal_walker(q->havingQual, &c) ||
		var_refusal_walker((Node *) q->targetList, &c) ||
		var_refusal_walker(q->havingQual, &c))
		return c.reason;
	return NULL;
}

/* ---------------------------------------------------------------------
 * The input item
 * ---------------------------------------------------------------------
 */

/* The level's keys: its GROUP BY expressions, or DISTINCT's */
typedef struct Keys
{
	List	   *exprs;			/* Expr * */
	List	   *eqops;			/* Oid: the equality each key groups by */
} Keys;

typedef struct MapContext
{
	List	   *keys;			/* key expressions: input columns 1..k */
	List	   *vars;			/* Vars read: input columns k+1.. */
} MapContext;

static bool
collect_vars(Node *node, MapContext *c)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var) && ((Var *) node)->varlevelsup == 0)
	{
		ListCell   *lc;

		foreach(lc, c->vars)
			if (equal(lfirst(lc), node))
				return false;
		c->vars = lappend(c->vars, copyObject(node));
		return false;
	}
	return expression_tree_walker(node, collect_vars, c);
}

/* An expression of the level rewritten over the input item (range index 1). */
static Node *
map_mutator(Node *node, MapContext *c)
{
	ListCell   *lc;
	int			k = 0;

	if (node == NULL)
		return NULL;
	foreach(lc, c->keys)
	{
		k++;
		if (equal(lfirst(lc), node))
			return (Node *) makeVar(1, k, exprType(node), exprTypmod(node),
									exprCollation(node), 0);
	}
	if (IsA(node, Var) && ((Var *) node)->varlevelsup == 0)
	{
		foreach(lc, c->vars)
		{
			k++;
			if (equal(lfirst(lc), node))
			{
				Var		   *var = (Var *) node;

				return (Node *) makeVar(1, k, var->vartype, var->vartypmod,
										var->varcollid, 0);
			}
		}
		elog(ERROR, "column of a grouped subquery's input not found");
	}
	return expression_tree_mutator(node, map_mutator, c);
}

typedef struct Grouped
{
	Query	   *level;			/* the level over its one input item */
	Query	   *input;			/* the item: keys, then the columns read */
	int			nkeys;
	int			ncols;			/* the item's columns */
	int			nout;			/* the level's output columns */
	List	   *eqops;
} Grouped;

/*
 * Split a grouped level into its input — its FROM and WHERE, with the key
 * expressions and the columns the select list and HAVING read as output —
 * and the level itself over that one item: the same select list, GROUP BY,
 * HAVING and DISTINCT, its expressions reading the item's columns.
 */
static void
split_level(Query *q, Grouped *g)
{
	List	   *clauses = q->groupClause != NIL ? q->groupClause : q->distinctClause;
	MapContext mc = {NIL, NIL};
	Query	   *in = copyObject(q);
	Query	   *lv = makeNode(Query);
	RangeTblEntry *rte = makeNode(RangeTblEntry);
	RangeTblRef *ref = makeNode(RangeTblRef);
	List	   *tlist = NIL;
	List	   *names = NIL;
	ListCell   *lc;
	int			k = 0;

	g->eqops = NIL;
	foreach(lc, clauses)
	{
		SortGroupClause *sgc = lfirst_node(SortGroupClause, lc);
		TargetEntry *tle = get_sortgroupclause_tle(sgc, q->targetList);

		mc.keys = lappend(mc.keys, copyObject(tle->expr));
		g->eqops = lappend_oid(g->eqops, sgc->eqop);
	}
	(void) collect_vars((Node *) q->targetList, &mc);
	(void) collect_vars(q->havingQual, &mc);

	foreach(lc, list_concat(list_copy(mc.keys), mc.vars))
	{
		char	   *name = psprintf("__pgt_g%d", ++k);

		tlist = lappend(tlist, makeTargetEntry(copyObject(lfirst(lc)), k, name, false));
		names = lappend(names, makeString(name));
	}
	if (tlist == NIL)
	{
		/* nothing is read of the input but its rows (count(*)) */
		char	   *name = psprintf("__pgt_g%d", ++k);

		tlist = list_make1(makeTargetEntry((Expr *) makeBoolConst(true, false), k, name, false));
		names = list_make1(makeString(name));
	}
	in->targetList = tlist;
	in->groupClause = NIL;
	in->groupDistinct = false;
	in->havingQual = NULL;
	in->hasAggs = false;
	in->distinctClause = NIL;
	in->hasDistinctOn = false;
	in->sortClause = NIL;
	in->hasSubLinks = checkExprHasSubLink((Node *) in->jointree);

	rte->rtekind = RTE_SUBQUERY;
	rte->subquery = in;
	rte->alias = makeAlias("__pgt_gi", NIL);
	rte->eref = makeAlias("__pgt_gi", names);
	rte->inFromCl = true;
	ref->rtindex = 1;

	lv->commandType = CMD_SELECT;
	lv->querySource = QSRC_ORIGINAL;
	lv->canSetTag = true;
	lv->rtable = list_make1(rte);
	lv->jointree = makeFromExpr(list_make1(ref), NULL);
	lv->targetList = (List *) map_mutator((Node *) copyObject(q->targetList), &mc);
	lv->havingQual = map_mutator(copyObject(q->havingQual), &mc);
	lv->groupClause = copyObject(q->groupClause);
	lv->distinctClause = copyObject(q->distinctClause);
	lv->hasAggs = q->hasAggs;

	g->level = lv;
	g->input = in;
	g->nkeys = list_length(mc.keys);
	g->ncols = k;
	g->nout = 0;
	foreach(lc, q->targetList)
		if (!lfirst_node(TargetEntry, lc)->resjunk)
			g->nout++;
}

/* ---------------------------------------------------------------------
 * SQL
 * ---------------------------------------------------------------------
 */

static char *
column_list(const char *alias, const char *prefix, int from, int to)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = from; i <= to; i++)
		appendStringInfo(&buf, "%s%s%s%s%d", i > from ? ", " : "",
						 alias ? alias : "", alias ? "." : "", prefix, i);
	return buf.data;
}

static char *
operator_sql(Oid opno)
{
	HeapTuple	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
	Form_pg_operator op;
	char	   *sql;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for operator %u", opno);
	op = (Form_pg_operator) GETSTRUCT(tup);
	sql = psprintf("OPERATOR(%s.%s)",
				   quote_identifier(get_namespace_name(op->oprnamespace)),
				   NameStr(op->oprname));
	ReleaseSysCache(tup);
	return sql;
}

/* ---------------------------------------------------------------------
 * The key hint (src/delta/README.md, "Scalar subqueries", "Only the keys
 * the outer query can meet")
 * ---------------------------------------------------------------------
 */

#define KEY_HINT_PREFIX "pg_trickle key hint: "

/*
 * Add to sub's WHERE the conjunct '<prefix><SQL of keys>'::text IS NOT
 * NULL: always true (the planner folds it away wherever sub is read), a
 * plain constant that no rule of the engine treats as a condition, and
 * carried with sub through every copy and deparse.  keys returns, in the
 * order of sub's group keys, the key values some row of the outer query
 * can meet; DeltaGroupedSql reads it back (take_key_hint).
 */
void
DeltaGroupedAddKeyHint(Query *sub, Query *keys)
{
	NullTest   *nt = makeNode(NullTest);
	char	   *sql = psprintf("%s%s", KEY_HINT_PREFIX, pg_get_querydef(keys, false));

	nt->arg = (Expr *) makeConst(TEXTOID, -1, DEFAULT_COLLATION_OID, -1,
								 CStringGetTextDatum(sql), false, false);
	nt->nulltesttype = IS_NOT_NULL;
	nt->argisrow = false;
	nt->location = -1;
	sub->jointree->quals = (Node *)
		make_ands_explicit(lappend(make_ands_implicit((Expr *) sub->jointree->quals), nt));
}

static bool
key_hint_text_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Const))
	{
		Const	   *c = (Const *) node;

		return c->consttype == TEXTOID && !c->constisnull &&
			strncmp(TextDatumGetCString(c->constvalue), KEY_HINT_PREFIX,
					strlen(KEY_HINT_PREFIX)) == 0;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, key_hint_text_walker, context, 0);
	return expression_tree_walker(node, key_hint_text_walker, context);
}

/*
 * Whether a defining query (its views expanded) holds a text constant
 * that reads as a key hint: refused, so that only hints the engine made
 * are ever taken for one (a view's author could otherwise narrow the
 * groups a reader's refresh recomputes).
 */
bool
DeltaHasKeyHintText(Query *q)
{
	return key_hint_text_walker((Node *) q, NULL);
}

/* The SQL of the key hint conjunct cond, or NULL when cond is not one. */
static char *
key_hint_sql(Node *cond)
{
	NullTest   *nt;
	Const	   *c;
	char	   *str;

	if (!IsA(cond, NullTest))
		return NULL;
	nt = (NullTest *) cond;
	if (nt->nulltesttype != IS_NOT_NULL || !IsA(nt->arg, Const))
		return NULL;
	c = (Const *) nt->arg;
	if (c->consttype != TEXTOID || c->constisnull)
		return NULL;
	str = TextDatumGetCString(c->constvalue);
	if (strncmp(str, KEY_HINT_PREFIX, strlen(KEY_HINT_PREFIX)) != 0)
		return NULL;
	return str + strlen(KEY_HINT_PREFIX);
}

/*
 * The level q without its key hint (a copy when it has one), and the
 * hint's SQL in *hint (NULL without one).
 */
static Query *
take_key_hint(Query *q, char **hint)
{
	List	   *kept = NIL;
	ListCell   *lc;

	*hint = NULL;
	if (q->jointree == NULL || q->jointree->quals == NULL)
		return q;
	foreach(lc, make_ands_implicit((Expr *) q->jointree->quals))
	{
		char	   *sql = key_hint_sql(lfirst(lc));

		if (sql != NULL && *hint == NULL)
			*hint = sql;
		else
			kept = lappend(kept, lfirst(lc));
	}
	if (*hint == NULL)
		return q;
	q = copyObject(q);
	q->jointree->quals = kept == NIL ? NULL : (Node *) make_ands_explicit(kept);
	return q;
}

/*
 * The touched keys (SQL with columns __pgt_g1..k) restricted to those the
 * key hint's query returns: a group of any other key meets no row of the
 * outer query, before or after.  Only when nothing the hint reads has a
 * pending change (then its rows are the same before and after); otherwise
 * (rare: the outer query's filtered relation itself changed), and when the
 * hint does not return a column per key, the touched keys stay whole for
 * this refresh.  Building the hint's delta instead made the delta
 * statement of TPC-H Q20's shape about ten times slower to build
 * (src/delta/README.md).
 */
static char *
restrict_touched(DeltaContext *ctx, Grouped *g, const char *touched, const char *hint)
{
	Query	   *kq = DeltaParseQuery(hint);
	RangeTblEntry *rte = makeNode(RangeTblEntry);
	StringInfoData eq;
	ListCell   *lc;
	int			n = 0;

	foreach(lc, kq->targetList)
		if (!lfirst_node(TargetEntry, lc)->resjunk)
			n++;
	rte->rtekind = RTE_SUBQUERY;
	rte->subquery = kq;
	if (n != g->nkeys || DeltaItemPending(ctx, rte))
		return (char *) touched;
	initStringInfo(&eq);
	foreach(lc, g->eqops)
	{
		int			i = foreach_current_index(lc) + 1;

		appendStringInfo(&eq, "%st.__pgt_g%d %s k.__pgt_x%d",
						 i > 1 ? " AND " : "", i, operator_sql(lfirst_oid(lc)), i);
	}
	return psprintf("SELECT t.* FROM (%s) t WHERE EXISTS (SELECT 1 FROM (%s) k(%s) WHERE %s)",
					touched, hint, column_list(NULL, "__pgt_x", 1, n), eq.data);
}

/*
 * The rows of the input (SQL with its columns __pgt_g1..n) whose key the
 * touched keys (SQL with columns __pgt_g1..k) hold: keys without a NULL
 * by the keys' equality (an index on the key serves it, driven by the few
 * touched keys), keys with a NULL (equal or both NULL, which no index
 * serves) in a second branch that runs only when a touched key has one.
 */
static char *
restrict_sql(Grouped *g, const char *input, const char *touched)
{
	StringInfoData eq;
	StringInfoData nulleq;
	StringInfoData xnull;
	StringInfoData tnull;
	char	   *cols = column_list(NULL, "__pgt_g", 1, g->ncols);
	char	   *keys = column_list(NULL, "__pgt_g", 1, g->nkeys);
	int			i = 0;
	ListCell   *lc;

	initStringInfo(&eq);
	initStringInfo(&nulleq);
	initStringInfo(&xnull);
	initStringInfo(&tnull);
	foreach(lc, g->eqops)
	{
		char	   *op = operator_sql(lfirst_oid(lc));

		i++;
		appendStringInfo(&eq, "%sx.__pgt_g%d %s t.__pgt_g%d",
						 i > 1 ? " AND " : "", i, op, i);
		appendStringInfo(&nulleq, "%s(x.__pgt_g%d %s t.__pgt_g%d OR (x.__pgt_g%d IS NULL AND t.__pgt_g%d IS NULL))",
						 i > 1 ? " AND " : "", i, op, i, i, i);
		appendStringInfo(&xnull, "%sx.__pgt_g%d IS NULL", i > 1 ? " OR " : "", i);
		appendStringInfo(&tnull, "%st.__pgt_g%d IS NULL", i > 1 ? " OR " : "", i);
	}
	return psprintf("SELECT x.* FROM (%s) x(%s)"
					" WHERE EXISTS (SELECT 1 FROM (%s) t(%s) WHERE %s)"
					" UNION ALL SELECT x.* FROM (%s) x(%s)"
					" WHERE EXISTS (SELECT 1 FROM (%s) t(%s) WHERE %s)"
					" AND (%s) AND EXISTS (SELECT 1 FROM (%s) t(%s) WHERE %s)",
					input, cols, touched, keys, eq.data,
					input, cols, touched, keys, tnull.data,
					xnull.data, touched, keys, nulleq.data);
}

/* The level, computed over the input given as SQL (columns __pgt_g1..n). */
static char *
level_over(Grouped *g, const char *input)
{
	Query	   *lv = copyObject(g->level);
	RangeTblEntry *rte = rt_fetch(1, lv->rtable);

	rte->subquery = DeltaParseQuery(input);
	return pg_get_querydef(lv, false);
}

/* Whether every output column of the level can be grouped (to cancel). */
static bool
output_groupable(Query *q)
{
	ListCell   *lc;

	foreach(lc, q->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (!tle->resjunk && !type_groupable(exprType((Node *) tle->expr)))
			return false;
	}
	return true;
}

/*
 * The delta of a grouped level: its output columns, then __pgt_m.
 *
 *	 D       the input's delta (columns __pgt_g1..n, __pgt_m)
 *	 T       the keys D touches, distinct
 *	 NEW_T   the input now, restricted to T
 *	 OLD_T   NEW_T plus D negated, netted into rows (GROUP BY every
 *	         column, each row repeated by its multiplicity)
 *	 delta = level(NEW_T) - level(OLD_T), equal rows cancelling
 *
 * Without keys (aggregates without GROUP BY) the one group is touched when
 * D has a row: both sides are then the whole input, old and new.
 */
char *
DeltaGroupedSql(DeltaContext *ctx, Query *q)
{
	Grouped		g;
	char	   *input;
	char	   *delta;
	char	   *cols;
	char	   *dcols;
	char	   *newin;
	char	   *oldin;
	char	   *newg;
	char	   *oldg;
	char	   *gate = "";
	char	   *out;
	char	   *u;
	char	   *hint;

	q = take_key_hint(q, &hint);
	split_level(q, &g);
	input = pg_get_querydef(g.input, false);
	cols = column_list(NULL, "__pgt_g", 1, g.ncols);
	dcols = column_list("d", "__pgt_g", 1, g.ncols);
	/* read several times below: once per statement (once.c) */
	delta = DeltaOnceSql(ctx, DeltaSql(ctx, g.input));

	if (g.nkeys > 0)
	{
		char	   *touched = psprintf("SELECT DISTINCT %s FROM (%s) d(%s, __pgt_m)",
										   column_list("d", "__pgt_g", 1, g.nkeys),
										   delta, cols);

		/* only the keys the outer query can meet (scalar.c's key hint) */
		if (hint != NULL)
			touched = restrict_touched(ctx, &g, touched, hint);
		touched = DeltaOnceSql(ctx, touched);

		/* the touched groups' rows, read by both sides: once */
		newin = DeltaOnceSql(ctx, restrict_sql(&g, input, touched));
	}
	else
	{
		newin = input;
		gate = psprintf(" WHERE EXISTS (SELECT 1 FROM (%s) d)", delta);
	}
	oldin = psprintf("SELECT %s FROM (SELECT %s, pg_catalog.sum(o.__pgt_m)::pg_catalog.int8 AS __pgt_m"
					 " FROM (SELECT n.*, 1::pg_catalog.int8 FROM (%s) n(%s)"
					 " UNION ALL SELECT %s, -d.__pgt_m FROM (%s) d(%s, __pgt_m)) o(%s, __pgt_m)"
					 " GROUP BY %s HAVING pg_catalog.sum(o.__pgt_m) OPERATOR(pg_catalog.>) 0) r"
					 " CROSS JOIN LATERAL pg_catalog.generate_series(1::pg_catalog.int8, r.__pgt_m) AS __pgt_rep",
					 column_list("r", "__pgt_g", 1, g.ncols),
					 column_list("o", "__pgt_g", 1, g.ncols),
					 newin, cols, dcols, delta, cols, cols,
					 column_list("o", "__pgt_g", 1, g.ncols));
	newg = level_over(&g, newin);
	oldg = level_over(&g, oldin);

	out = column_list(NULL, "__pgt_c", 1, g.nout);
	u = psprintf("SELECT n.*, 1::pg_catalog.int8 FROM (%s) n(%s)%s"
				 " UNION ALL SELECT o.*, -1::pg_catalog.int8 FROM (%s) o(%s)%s",
				 newg, out, gate, oldg, out, gate);
	if (output_groupable(q))
		u = psprintf("SELECT %s, pg_catalog.sum(u.__pgt_m)::pg_catalog.int8 AS __pgt_m"
					 " FROM (%s) u(%s, __pgt_m) GROUP BY %s"
					 " HAVING pg_catalog.sum(u.__pgt_m) OPERATOR(pg_catalog.<>) 0",
					 column_list("u", "__pgt_c", 1, g.nout), u, out,
					 column_list("u", "__pgt_c", 1, g.nout));

	/* every term that reads this delta reads the one evaluation */
	return DeltaOnceSql(ctx, u);
}

/* ---------------------------------------------------------------------
 * explain_st
 * ---------------------------------------------------------------------
 */

/* The relations a query reads, at any depth, once each. */
typedef struct NamesContext
{
	StringInfo	out;
	List	   *seen;			/* Oids already named */
} NamesContext;

static bool
relation_names(Node *node, NamesContext *c)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_RELATION && !list_member_oid(c->seen, rte->relid))
		{
			c->seen = lappend_oid(c->seen, rte->relid);
			appendStringInfo(c->out, "%s%s", c->out->len > 0 ? ", " : "",
							 quote_identifier(get_rel_name(rte->relid)));
		}
		return false;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, relation_names, c,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, relation_names, c);
}

static bool
describe_walker(Node *node, StringInfo out)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_SUBQUERY && DeltaIsGrouped(rte->subquery))
		{
			Query	   *sub = rte->subquery;
			StringInfoData rels;
			NamesContext nc = {&rels, NIL};

			initStringInfo(&rels);
			(void) relation_names((Node *) sub, &nc);
			if (out->len > 0)
				appendStringInfoChar(out, '\n');
			if (sub->groupClause != NIL)
				appendStringInfo(out, "grouped subquery over %s (GROUP BY, %d key%s): recompute of the touched groups",
								 rels.data, list_length(sub->groupClause),
								 list_length(sub->groupClause) > 1 ? "s" : "");
			else if (sub->distinctClause != NIL)
				appendStringInfo(out, "grouped subquery over %s (DISTINCT): recompute of the touched groups",
								 rels.data);
			else
				appendStringInfo(out, "grouped subquery over %s (aggregates without GROUP BY, one group): recompute of the one group when its input changed",
								 rels.data);
		}
		return false;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, describe_walker, out,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, describe_walker, out);
}

/*
 * One line per grouped level below the top of q (subqueries, CTEs, set
 * operation leaves, also inside sublinks): what it reads and how its delta
 * is found.
 */
void
DeltaGroupedDescribe(Query *q, StringInfo out)
{
	(void) query_tree_walker(q, describe_walker, out, QTW_EXAMINE_RTES_BEFORE);
}
