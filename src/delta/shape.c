/*-------------------------------------------------------------------------
 *
 * shape.c
 *	  Which queries the differential engine supports, and how their result
 *	  is kept in the storage table (the shape and its hidden columns).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_aggregate.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteManip.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/ruleutils.h"
#include "utils/typcache.h"

#include "capture/capture.h"
#include "compat.h"
#include "delta/delta.h"
#include "refresh/refresh.h"

static void inline_ctes(Query *q, List *stack);

/*
 * Whether a CTE is one the engine wrote to be evaluated once per statement
 * (outerjoin.c, candidates_sql): MATERIALIZED, named __pgt_..., met while
 * parsing the engine's own text.  Such a CTE is kept; every other one is
 * inlined.  A user's query is parsed with keep_engine_ctes off, so a user
 * CTE of any name is inlined as before.
 */
static bool keep_engine_ctes = true;

static bool
engine_cte(CommonTableExpr *cte)
{
	return keep_engine_ctes && cte->ctematerialized == CTEMaterializeAlways &&
		strncmp(cte->ctename, "__pgt_", 6) == 0;
}

/* The subqueries of sublinks (scalar, EXISTS, IN) of one query level. */
static bool
inline_sublink_ctes(Node *node, List *stack)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubLink))
	{
		inline_ctes(castNode(Query, ((SubLink *) node)->subselect), stack);
		return inline_sublink_ctes(((SubLink *) node)->testexpr, stack);
	}
	if (IsA(node, Query))
		return false;
	return expression_tree_walker(node, inline_sublink_ctes, stack);
}

/*
 * Name the output columns of an inlined CTE's query as the CTE's column list
 * (WITH r (a, b) AS ...) does: the deparser prints a subquery in FROM with
 * its own output names and no alias list, so references to r.a must find a
 * column a there.
 */
static void
rename_outputs(Query *sub, List *colnames)
{
	ListCell   *lc;
	int			i = 0;

	foreach(lc, sub->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (tle->resjunk)
			continue;
		if (i < list_length(colnames))
			tle->resname = pstrdup(strVal(list_nth(colnames, i)));
		i++;
	}
}

/*
 * Replace references to CTEs by copies of their queries, so that the engine
 * only meets subqueries in FROM (also in sublinks: a scalar subquery over a
 * CTE, scalar.c).
 */
static void
inline_ctes(Query *q, List *stack)
{
	ListCell   *lc;

	/* lcons works in place: the caller keeps its own stack */
	stack = lcons(q->cteList, list_copy(stack));
	foreach(lc, q->cteList)
	{
		CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

		if (engine_cte(cte))
			inline_ctes(castNode(Query, cte->ctequery), stack);
	}
	if (q->hasSubLinks)
		(void) query_tree_walker(q, inline_sublink_ctes, stack, QTW_IGNORE_RANGE_TABLE);
	foreach(lc, q->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_CTE && !rte->self_reference)
		{
			List	   *ctes = list_nth(stack, rte->ctelevelsup);
			ListCell   *lc2;
			Query	   *sub = NULL;
			bool		kept = false;

			foreach(lc2, ctes)
			{
				CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc2);

				if (strcmp(cte->ctename, rte->ctename) == 0)
				{
					kept = engine_cte(cte);
					sub = kept ? NULL : copyObject(castNode(Query, cte->ctequery));
				}
			}
			if (kept)
				continue;		/* the engine's: evaluated once, not inlined */
			if (sub == NULL)
				elog(ERROR, "could not find CTE \"%s\"", rte->ctename);
			if (rte->ctelevelsup > 0)
				IncrementVarSublevelsUp((Node *) sub, rte->ctelevelsup, 1);
			rename_outputs(sub, rte->eref->colnames);
			rte->rtekind = RTE_SUBQUERY;
			rte->subquery = sub;
			rte->ctename = NULL;
			rte->ctelevelsup = 0;
		}
		if (rte->rtekind == RTE_SUBQUERY)
			inline_ctes(rte->subquery, stack);
	}
}

static Query *
parse_query(const char *sql, bool keep)
{
	List	   *raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	Query	   *q;

	if (list_length(raw) != 1)
		elog(ERROR, "expected one statement: %s", sql);
	q = parse_analyze_fixedparams(linitial_node(RawStmt, raw), sql, NULL, 0, NULL);
	pgt_flatten_grouping(q);
	if (!q->hasRecursive)
	{
		List	   *kept = NIL;
		ListCell   *lc;

		keep_engine_ctes = keep;
		inline_ctes(q, NIL);
		foreach(lc, q->cteList)
			if (engine_cte(lfirst_node(CommonTableExpr, lc)))
				kept = lappend(kept, lfirst(lc));
		q->cteList = kept;
	}
	return q;
}

/*
 * Parse and analyse a query the engine generated or deparsed (all names
 * qualified), with its CTEs inlined but the engine's own MATERIALIZED ones
 * (engine_cte).
 */
Query *
DeltaParseQuery(const char *sql)
{
	return parse_query(sql, true);
}

/* The same for a user's query (a defining query, a view): every CTE inlined. */
Query *
DeltaParseUserQuery(const char *sql)
{
	return parse_query(sql, false);
}

typedef struct SupportContext
{
	char	   *reason;
	Query	   *query;			/* the query whose expressions are walked */
	Query	   *sublink_query;	/* an EXISTS/IN subquery being checked ... */
	Query	   *sublink_parent; /* ... and the query level it belongs to */
} SupportContext;

static bool
refuse(SupportContext *ctx, const char *reason)
{
	if (ctx->reason == NULL)
		ctx->reason = pstrdup(reason);
	return true;
}

static bool check_query(Query *q, SupportContext *ctx, bool top);
static bool check_expr_walker(Node *node, SupportContext *ctx);
static bool refuse_reserved_column(Var *var, SupportContext *ctx);

/* check_functions_in_node callback: remembers the first mutable function */
static bool
mutable_function_checker(Oid func_id, void *context)
{
	if (func_volatile(func_id) == PROVOLATILE_IMMUTABLE)
		return false;
	*(Oid *) context = func_id;
	return true;
}

/*
 * The SQL spelling of a function-like keyword (CURRENT_TIMESTAMP, ...),
 * none of which is IMMUTABLE.
 */
static const char *
sql_value_function_name(SQLValueFunction *svf)
{
	switch (svf->op)
	{
		case SVFOP_CURRENT_DATE:
			return "CURRENT_DATE";
		case SVFOP_CURRENT_TIME:
		case SVFOP_CURRENT_TIME_N:
			return "CURRENT_TIME";
		case SVFOP_CURRENT_TIMESTAMP:
		case SVFOP_CURRENT_TIMESTAMP_N:
			return "CURRENT_TIMESTAMP";
		case SVFOP_LOCALTIME:
		case SVFOP_LOCALTIME_N:
			return "LOCALTIME";
		case SVFOP_LOCALTIMESTAMP:
		case SVFOP_LOCALTIMESTAMP_N:
			return "LOCALTIMESTAMP";
		case SVFOP_CURRENT_ROLE:
			return "CURRENT_ROLE";
		case SVFOP_CURRENT_USER:
			return "CURRENT_USER";
		case SVFOP_USER:
			return "USER";
		case SVFOP_SESSION_USER:
			return "SESSION_USER";
		case SVFOP_CURRENT_CATALOG:
			return "CURRENT_CATALOG";
		case SVFOP_CURRENT_SCHEMA:
			return "CURRENT_SCHEMA";
	}
	return "a SQL value function";
}

/*
 * Refuse a node that calls a function that is not IMMUTABLE, naming it:
 * the same test as contain_mutable_functions, node by node, so that the
 * reason can say which function (and operator) it is.
 */
static bool
refuse_mutable(Node *node, SupportContext *ctx)
{
	Oid			func_id = InvalidOid;
	const char *what;

	if (IsA(node, SQLValueFunction))
		return refuse(ctx, psprintf("%s, which is STABLE, not IMMUTABLE: its result depends on more than the sources (the time, or the session)",
									sql_value_function_name((SQLValueFunction *) node)));
	if (IsA(node, NextValueExpr))
		return refuse(ctx, "a sequence's next value, which is VOLATILE: it changes at every call");
	if (IsA(node, Aggref))
	{
		/* json(b)_agg over types whose JSON text is fixed (moreagg.c) */
		char	   *why;

		if (DeltaJsonAggSafe((Aggref *) node, &why))
			return false;
		if (why != NULL)
			return refuse(ctx, why);
	}
	if (!check_functions_in_node(node, mutable_function_checker, &func_id))
		return false;

	if (IsA(node, OpExpr) || IsA(node, DistinctExpr) || IsA(node, NullIfExpr))
		what = psprintf("operator %s", format_operator(((OpExpr *) node)->opno));
	else if (IsA(node, ScalarArrayOpExpr))
		what = psprintf("operator %s", format_operator(((ScalarArrayOpExpr *) node)->opno));
	else if (IsA(node, CoerceViaIO))
		what = psprintf("the conversion from %s to %s (by %s)",
						format_type_be(exprType((Node *) ((CoerceViaIO *) node)->arg)),
						format_type_be(((CoerceViaIO *) node)->resulttype),
						format_procedure(func_id));
	else if (IsA(node, Aggref))
		what = psprintf("aggregate %s", format_procedure(func_id));
	else
		what = psprintf("function %s", format_procedure(func_id));
	if (func_volatile(func_id) == PROVOLATILE_STABLE)
		return refuse(ctx, psprintf("%s, which is STABLE, not IMMUTABLE: its result depends on more than the sources (the time, or settings such as TimeZone or DateStyle)",
									what));
	return refuse(ctx, psprintf("%s, which is VOLATILE: its result can change at every call", what));
}

/*
 * Everything an expression of the query may not hold, anywhere in it: a
 * function that is not IMMUTABLE, a system column or whole-row reference,
 * a correlated reference, a sublink.  Applied to every expression of a
 * query (select list, the whole join tree with every ON, WHERE, HAVING,
 * VALUES lists), so that no clause escapes it.
 */
static bool
check_expr_walker(Node *node, SupportContext *ctx)
{
	if (node == NULL)
		return false;
	if (refuse_mutable(node, ctx))
		return true;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		if (var->varattno <= 0)
			return refuse(ctx, "a system column or whole-row reference");
		if (var->varlevelsup == 1 && ctx->query == ctx->sublink_query)
		{
			/* an EXISTS/IN subquery's reference to the query around it */
			Query	   *inner = ctx->query;
			Var		   *up = copyObject(var);
			bool		refused;

			up->varlevelsup = 0;
			ctx->query = ctx->sublink_parent;
			refused = refuse_reserved_column(up, ctx);
			ctx->query = inner;
			return refused;
		}
		if (var->varlevelsup > 0)
			return refuse(ctx, "a correlated reference to an outer query");
		return refuse_reserved_column(var, ctx);
	}
	if (IsA(node, SubLink))
	{
		/*
		 * Reached only when DeltaSemiJoinRefusal accepted the query level's
		 * sublinks: WHERE conditions [NOT] EXISTS, [NOT] IN, = ANY.  Their
		 * subqueries are checked like any query (DISTINCT and ORDER BY do
		 * not matter to them), with references one level up allowed.
		 */
		SubLink    *sl = (SubLink *) node;
		Query	   *sub = copyObject(castNode(Query, sl->subselect));
		Query	   *parent = ctx->sublink_parent;
		Query	   *subq = ctx->sublink_query;
		bool		refused;

		if (check_expr_walker(sl->testexpr, ctx))
			return true;
		sub->distinctClause = NIL;
		sub->hasDistinctOn = false;
		sub->sortClause = NIL;
		ctx->sublink_parent = ctx->query;
		ctx->sublink_query = sub;
		refused = check_query(sub, ctx, false);
		ctx->sublink_parent = parent;
		ctx->sublink_query = subq;
		return refused;
	}
	if (IsA(node, Query))
		return check_query((Query *) node, ctx, false);
	/* GROUPING(x) under a plain GROUP BY (grouping sets are refused before) */
	if (IsA(node, GroupingFunc))
		return refuse(ctx, "a GROUPING() function");
	return expression_tree_walker(node, check_expr_walker, ctx);
}

static bool
check_jointree(Node *node, SupportContext *ctx)
{
	if (node == NULL || IsA(node, RangeTblRef))
		return false;
	if (IsA(node, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) node)->fromlist)
			if (check_jointree(lfirst(lc), ctx))
				return true;
		return false;
	}
	if (IsA(node, JoinExpr))
	{
		JoinExpr   *j = (JoinExpr *) node;

		/* inner and outer joins (LEFT, RIGHT, FULL: delta/outerjoin.c) */
		if (j->jointype != JOIN_INNER && j->jointype != JOIN_LEFT &&
			j->jointype != JOIN_RIGHT && j->jointype != JOIN_FULL)
			return refuse(ctx, "an unsupported join type");
		return check_jointree(j->larg, ctx) || check_jointree(j->rarg, ctx);
	}
	return refuse(ctx, "an unsupported FROM clause");
}

static bool
check_setop(Node *node, SupportContext *ctx)
{
	if (IsA(node, RangeTblRef))
		return false;
	if (IsA(node, SetOperationStmt))
	{
		SetOperationStmt *op = (SetOperationStmt *) node;

		/*
		 * every operator (setop.c: a root without ALL becomes an aggregate,
		 * anything else is differentiated by counting)
		 */
		return check_setop(op->larg, ctx) || check_setop(op->rarg, ctx);
	}
	return refuse(ctx, "an unsupported set operation");
}

/*
 * The delta statement adds its own columns (__pgt_m, __pgt_c<n>, ...) next
 * to those of the FROM items it reads: a column the query reads whose name
 * begins with __pgt_ would be ambiguous there (42702 at every refresh).  A
 * column a source has but the query does not read is never named.  The
 * hidden columns of a stream table read as a source are refused too: they
 * are the upstream engine's state, not data.
 */
static bool
refuse_reserved_column(Var *var, SupportContext *ctx)
{
	RangeTblEntry *rte = rt_fetch(var->varno, ctx->query->rtable);
	char	   *name;

	if (rte->rtekind == RTE_JOIN)
	{
		/* a merged column of JOIN ... USING: what it stands for */
		return check_expr_walker(list_nth(rte->joinaliasvars, var->varattno - 1), ctx);
	}
	if (rte->rtekind != RTE_RELATION)
		return false;
	name = get_attname(rte->relid, var->varattno, false);
	if (strncmp(name, "__pgt_", 6) != 0)
		return false;
	return refuse(ctx, psprintf("column %s of source %s, a name reserved for pg_trickle's internal columns (prefix __pgt_)",
								quote_identifier(name),
								quote_identifier(get_rel_name(rte->relid))));
}

/*
 * A subquery or VALUES list in FROM whose output column begins with
 * __pgt_: the same clash, and an alias fixes it.
 */
static bool
reserved_column_name(RangeTblEntry *rte, SupportContext *ctx)
{
	ListCell   *lc;

	if (rte->rtekind != RTE_SUBQUERY && rte->rtekind != RTE_VALUES)
		return false;
	foreach(lc, rte->eref->colnames)
	{
		const char *name = strVal(lfirst(lc));

		if (strncmp(name, "__pgt_", 6) == 0)
			return refuse(ctx, psprintf("a subquery column named %s, a name reserved for pg_trickle's internal columns (prefix __pgt_)",
										quote_identifier(name)));
	}
	return false;
}

/*
 * Whether a query (top: the defining query itself) uses only what the
 * engine can differentiate; ctx->reason names the first construct that is
 * not.
 */
static bool
check_query_body(Query *q, SupportContext *ctx, bool top)
{
	ListCell   *lc;

	if (q->hasRecursive)
		return refuse(ctx, "a recursive CTE");
	if (q->hasWindowFuncs)
		return refuse(ctx, "a window function");
	if (q->hasTargetSRFs)
		return refuse(ctx, "a set-returning function in the select list");
	if (q->hasSubLinks)
	{
		/* only WHERE conditions that are semi- or anti-joins (semijoin.c) */
		const char *why = DeltaSemiJoinRefusal(q);

		if (why != NULL)
			return refuse(ctx, why);
	}
	if (q->limitCount || q->limitOffset)
		return refuse(ctx, "LIMIT or OFFSET");
	if (q->hasDistinctOn)
		return refuse(ctx, "DISTINCT ON");
	if (q->groupingSets)
		return refuse(ctx, "GROUPING SETS, ROLLUP or CUBE");
	if (!top && (q->hasAggs || q->groupClause || q->distinctClause))
	{
		/* grouped subqueries and CTEs: grouped.c */
		const char *why = DeltaGroupedRefusal(q);

		if (why != NULL)
			return refuse(ctx, why);
	}
	if (q->setOperations)
	{
		if (check_setop(q->setOperations, ctx))
			return true;
	}
	else if (check_jointree((Node *) q->jointree, ctx))
		return true;

	foreach(lc, q->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (pgt_rte_is_grouping(rte))
			continue;
		if (reserved_column_name(rte, ctx))
			return true;
		switch (rte->rtekind)
		{
			case RTE_RELATION:
				/* views were expanded (views.c); not one a caller left */
				if (rte->relkind == RELKIND_VIEW)
					return refuse(ctx, psprintf("view %s as a source", get_rel_name(rte->relid)));
				if (rte->relkind == RELKIND_MATVIEW)
					return refuse(ctx, psprintf("materialized view %s as a source (its contents change only by REFRESH MATERIALIZED VIEW, which no trigger captures)",
												get_rel_name(rte->relid)));
				/* partitioned tables: captured with their partitions (capture/inherit.c) */
				if (!rte->inh && (rte->relkind == RELKIND_PARTITIONED_TABLE ||
								  CaptureHasDescendants(rte->relid)))
					return refuse(ctx, psprintf("ONLY %s (its partitions' or children's changes are captured with it)",
												get_rel_name(rte->relid)));
				if (rte->relkind != RELKIND_RELATION &&
					rte->relkind != RELKIND_PARTITIONED_TABLE)
					return refuse(ctx, psprintf("%s as a source (not a plain table)", get_rel_name(rte->relid)));
				{
					/* what capture cannot follow (partitions, inheritance) */
					const char *why = CaptureUnsupportedReason(rte->relid);

					if (why != NULL)
						return refuse(ctx, psprintf("source %s: %s", get_rel_name(rte->relid), why));
				}
				if (rte->tablesample)
					return refuse(ctx, "TABLESAMPLE");
				break;
			case RTE_SUBQUERY:
				if (q->setOperations == NULL && check_query(rte->subquery, ctx, false))
					return true;
				if (q->setOperations != NULL && check_query(rte->subquery, ctx, false))
					return true;
				break;
			case RTE_JOIN:
			case RTE_VALUES:
			case RTE_RESULT:
				break;
			case RTE_FUNCTION:
				{
					/*
					 * Name what the user wrote: FROM t, unnest(t.a) is a
					 * LATERAL set-returning function (the parser marks a
					 * function in FROM LATERAL when it reads an earlier
					 * FROM item, keyword or not).
					 */
					ListCell   *fc;

					foreach(fc, rte->functions)
					{
						RangeTblFunction *rtfunc = lfirst_node(RangeTblFunction, fc);

						if (expression_returns_set(rtfunc->funcexpr))
							return refuse(ctx, rte->lateral ?
										  "a LATERAL set-returning function in FROM" :
										  "a set-returning function in FROM");
					}
					return refuse(ctx, "a function in FROM");
				}
			case RTE_CTE:
				return refuse(ctx, "a CTE that cannot be inlined");
			default:
				return refuse(ctx, "an unsupported FROM item");
		}
	}
	/* the select list, the join tree (every ON, however nested) and WHERE */
	if (expression_tree_walker((Node *) q->targetList, check_expr_walker, ctx) ||
		check_expr_walker((Node *) q->jointree, ctx) ||
		check_expr_walker(q->havingQual, ctx))
		return true;
	foreach(lc, q->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_VALUES &&
			expression_tree_walker((Node *) rte->values_lists, check_expr_walker, ctx))
			return true;
	}
	return false;
}

static bool
check_query(Query *q, SupportContext *ctx, bool top)
{
	Query	   *outer = ctx->query;
	bool		refused;

	ctx->query = q;
	refused = check_query_body(q, ctx, top);
	ctx->query = outer;
	return refused;
}

static bool
type_has_hash(Oid type)
{
	TypeCacheEntry *tc = lookup_type_cache(type, TYPECACHE_HASH_EXTENDED_PROC);

	return OidIsValid(tc->hash_extended_proc);
}

bool
DeltaSupported(Query *query, char **reason)
{
	SupportContext ctx = {NULL, NULL, NULL, NULL};

	check_query(query, &ctx, true);
	*reason = ctx.reason;
	return ctx.reason == NULL;
}

static DeltaColumn *
make_column(const char *name, Oid type, int32 typmod, Oid collation)
{
	DeltaColumn *col = palloc(sizeof(DeltaColumn));

	col->name = pstrdup(name);
	col->type = type;
	col->typmod = typmod;
	col->collation = collation;
	return col;
}

static bool
collect_aggrefs(Node *node, List **aggs)
{
	if (node == NULL)
		return false;
	if (IsA(node, Aggref))
	{
		ListCell   *lc;

		foreach(lc, *aggs)
			if (equal(lfirst(lc), node))
				return false;
		*aggs = lappend(*aggs, node);
		return false;
	}
	return expression_tree_walker(node, collect_aggrefs, aggs);
}

/* The engine's view of one aggregate, or NULL with a reason. */
static DeltaAgg *
classify_aggref(Aggref *aggref, char **reason)
{
	DeltaAgg   *agg = palloc0(sizeof(DeltaAgg));
	char	   *name = get_func_name(aggref->aggfnoid);
	Oid			nsp = get_func_namespace(aggref->aggfnoid);

	agg->aggref = aggref;
	agg->restype = aggref->aggtype;
	agg->restypmod = -1;
	agg->rescollation = aggref->aggcollid;
	/* bool_and/bool_or, and the aggregates recomputed per group */
	if (DeltaClassifyMoreAgg(agg, name, reason))
		return *reason ? NULL : agg;
	if (aggref->aggdistinct != NIL)
	{
		*reason = psprintf("%s(DISTINCT ...)", name);
		return NULL;
	}
	if (aggref->aggorder != NIL || aggref->aggkind != AGGKIND_NORMAL ||
		aggref->agglevelsup != 0 || nsp != PG_CATALOG_NAMESPACE)
	{
		*reason = psprintf("aggregate %s", name);
		return NULL;
	}
	if (aggref->aggstar)
	{
		agg->kind = AGG_COUNT_STAR;
		return agg;
	}
	if (list_length(aggref->args) != 1)
	{
		*reason = psprintf("aggregate %s with %d arguments", name, list_length(aggref->args));
		return NULL;
	}
	agg->argtype = exprType((Node *) linitial_node(TargetEntry, aggref->args)->expr);
	if (strcmp(name, "count") == 0)
		agg->kind = AGG_COUNT;
	else if (strcmp(name, "sum") == 0 || strcmp(name, "avg") == 0)
	{
		agg->kind = name[0] == 's' ? AGG_SUM : AGG_AVG;
		if (agg->argtype != INT2OID && agg->argtype != INT4OID &&
			agg->argtype != INT8OID && agg->argtype != NUMERICOID)
		{
			*reason = psprintf("%s over %s (only integer and numeric sums are exact under incremental maintenance)",
							   name, format_type_be(agg->argtype));
			return NULL;
		}
	}
	else if (strcmp(name, "min") == 0)
		agg->kind = AGG_MIN;
	else if (strcmp(name, "max") == 0)
		agg->kind = AGG_MAX;
	else
	{
		*reason = psprintf("aggregate %s", name);
		return NULL;
	}
	return agg;
}

static DeltaShape *written_shape(const DeltaShape *shape, Query *w);

/*
 * The shape of a supported defining query (deparsed, qualified text), or
 * NULL with *reason naming what the engine cannot differentiate.
 */
DeltaShape *
DeltaBuildShape(const char *sql, char **reason)
{
	char	   *scalar_reason;
	Query	   *q;
	DeltaShape *shape = palloc0(sizeof(DeltaShape));
	Query	   *written;
	List	   *aggrefs = NIL;
	ListCell   *lc;
	int			i;

	/* views as sources: expanded to their definitions (views.c) */
	q = DeltaExpandViews(DeltaParseUserQuery(sql), reason);
	if (*reason != NULL)
		return NULL;
	if (DeltaHasKeyHintText(q))
	{
		*reason = pstrdup("a string constant beginning with \"pg_trickle key hint: \" (reserved for the engine)");
		return NULL;
	}
	/* before its sublinks are rewritten: what a recomputation reads */
	written = copyObject(q);
	/* subqueries in ON conditions, into WHERE where that is exact (onqual.c) */
	q = DeltaOnQualRewrite(q);
	/* EXISTS/IN/scalar subqueries anywhere, into counts (sublink.c) */
	q = DeltaSetOpQuery(DeltaScalarRewrite(DeltaSublinkRewrite(q, NULL), &scalar_reason));
	/* a scalar subquery the rewrite (scalar.c) does not cover */
	*reason = scalar_reason;
	if (*reason != NULL)
		return NULL;
	if (!DeltaSupported(q, reason))
		return NULL;
	shape->query = q;
	foreach(lc, q->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (!tle->resjunk)
			shape->visible = lappend(shape->visible, pstrdup(tle->resname));
	}
	shape->hidden = list_make1(make_column("__pgt_row_id", INT8OID, -1, InvalidOid));

	if (!q->hasAggs && q->groupClause == NIL && q->distinctClause == NIL)
	{
		shape->kind = SHAPE_SPJ;
		foreach(lc, q->targetList)
		{
			TargetEntry *tle = lfirst_node(TargetEntry, lc);

			if (!tle->resjunk && !type_has_hash(exprType((Node *) tle->expr)))
			{
				*reason = psprintf("column \"%s\" of type %s, which has no hash function",
								   tle->resname, format_type_be(exprType((Node *) tle->expr)));
				return NULL;
			}
		}
		return shape;
	}

	shape->kind = SHAPE_AGGREGATE;
	shape->hidden = lappend(shape->hidden, make_column("__pgt_count", INT8OID, -1, InvalidOid));
	if (q->distinctClause != NIL)
	{
		if (q->hasAggs || q->groupClause != NIL)
		{
			*reason = pstrdup("DISTINCT together with aggregates or GROUP BY");
			return NULL;
		}
		foreach(lc, q->targetList)
		{
			TargetEntry *tle = lfirst_node(TargetEntry, lc);

			if (tle->resjunk)
				continue;
			shape->group_exprs = lappend(shape->group_exprs, tle->expr);
			shape->key_columns = lappend(shape->key_columns, pstrdup(tle->resname));
		}
	}
	else
	{
		i = 0;
		foreach(lc, q->groupClause)
		{
			SortGroupClause *sgc = lfirst_node(SortGroupClause, lc);
			TargetEntry *tle = get_sortgroupclause_tle(sgc, q->targetList);

			shape->group_exprs = lappend(shape->group_exprs, tle->expr);
			i++;
			if (!tle->resjunk)
				shape->key_columns = lappend(shape->key_columns, pstrdup(tle->resname));
			else
			{
				char	   *name = psprintf("__pgt_key%d", i);

				shape->key_columns = lappend(shape->key_columns, name);
				shape->hidden = lappend(shape->hidden,
										make_column(name, exprType((Node *) tle->expr),
													exprTypmod((Node *) tle->expr),
													exprCollation((Node *) tle->expr)));
			}
		}
	}
	foreach(lc, shape->group_exprs)
	{
		if (!type_has_hash(exprType(lfirst(lc))))
		{
			*reason = psprintf("a grouping key of type %s, which has no hash function",
							   format_type_be(exprType(lfirst(lc))));
			return NULL;
		}
	}
	shape->scalar = (q->groupClause == NIL && q->distinctClause == NIL);
	shape->has_having = (q->havingQual != NULL);
	if (shape->scalar && shape->has_having)
	{
		*reason = pstrdup("HAVING without GROUP BY");
		return NULL;
	}

	(void) collect_aggrefs((Node *) q->targetList, &aggrefs);
	(void) collect_aggrefs(q->havingQual, &aggrefs);
	i = 0;
	foreach(lc, aggrefs)
	{
		DeltaAgg   *agg = classify_aggref(lfirst(lc), reason);

		if (agg == NULL)
			return NULL;
		i++;
		shape->aggs = lappend(shape->aggs, agg);
		shape->hidden = lappend(shape->hidden,
								make_column(psprintf("__pgt_agg%d", i), agg->restype,
											agg->restypmod, agg->rescollation));
		if (DeltaMoreAggHidden(shape, agg, i))
			continue;
		if (agg->kind != AGG_COUNT_STAR && agg->kind != AGG_COUNT)
			shape->hidden = lappend(shape->hidden,
									make_column(psprintf("__pgt_agg%d_n", i), INT8OID, -1, InvalidOid));
		if (agg->kind == AGG_AVG)
			shape->hidden = lappend(shape->hidden,
									make_column(psprintf("__pgt_agg%d_s", i), NUMERICOID, -1, InvalidOid));
		if (agg->kind == AGG_MIN || agg->kind == AGG_MAX)
			shape->has_minmax = true;
		/* numeric has NaN and +-Infinity, which a subtraction cannot undo */
		if ((agg->kind == AGG_SUM || agg->kind == AGG_AVG) &&
			getBaseType(agg->argtype) == NUMERICOID)
			shape->has_nonfinite = true;
	}
	shape->written = written_shape(shape, written);
	return shape;
}

/* Whether two expressions have the same type, typmod and collation. */
static bool
same_type(Node *a, Node *b)
{
	return exprType(a) == exprType(b) && exprTypmod(a) == exprTypmod(b) &&
		exprCollation(a) == exprCollation(b);
}

/*
 * Whether aggregate a of the query as written is the call b of the
 * rewritten query: the same function, result, options (star, DISTINCT,
 * ORDER BY, direct arguments, FILTER) and arguments of the same types.
 */
static bool
same_aggregate(Aggref *a, Aggref *b)
{
	ListCell   *la;
	ListCell   *lb;

	if (a->aggfnoid != b->aggfnoid || a->aggtype != b->aggtype ||
		a->aggcollid != b->aggcollid || a->aggstar != b->aggstar ||
		a->aggvariadic != b->aggvariadic || a->aggkind != b->aggkind ||
		a->agglevelsup != b->agglevelsup ||
		(a->aggfilter == NULL) != (b->aggfilter == NULL) ||
		!equal(a->aggargtypes, b->aggargtypes) ||
		!equal(a->aggdirectargs, b->aggdirectargs) ||
		!equal(a->aggorder, b->aggorder) ||
		!equal(a->aggdistinct, b->aggdistinct) ||
		list_length(a->args) != list_length(b->args))
		return false;
	forboth(la, a->args, lb, b->args)
	{
		TargetEntry *ta = lfirst_node(TargetEntry, la);
		TargetEntry *tb = lfirst_node(TargetEntry, lb);

		if (ta->resjunk != tb->resjunk || ta->ressortgroupref != tb->ressortgroupref ||
			!same_type((Node *) ta->expr, (Node *) tb->expr))
			return false;
	}
	return true;
}

/*
 * The shape over the defining query as written (w: parsed, views expanded
 * as the delta reads them, sublinks not rewritten), for the recomputation
 * of every group (DeltaShape.written), or NULL.
 *
 * Views are expanded in w as in the shape's query: a recomputation reads
 * their tables with the rights and row-level security of the stream
 * table's owner, as every delta does, so that the state it writes is the
 * one the deltas continue from.
 *
 * The sublink rewrites before the shape (sublink.c, scalar.c) replace
 * FROM items and WHERE conditions of a query level by joins and keep its
 * target list, GROUP BY, DISTINCT and HAVING, with a sublink of an output
 * expression replaced by a column of a join: the group keys and the
 * aggregates correspond one to one, in the order the shape collects them,
 * and each input row of the query as written is one input row of the
 * rewritten query (a join to a subquery grouped by the correlation, at
 * most one row per outer row).  That correspondence is checked here
 * rather than assumed: the same number of group keys of the same types,
 * the same aggregates with arguments of the same types.  A query level
 * restructured otherwise (a top-level UNION made a grouped query by
 * setop.c, a different number of keys or aggregates) keeps the rewritten
 * input.
 */
static DeltaShape *
written_shape(const DeltaShape *shape, Query *w)
{
	Query	   *q = shape->query;
	DeltaShape *ws;
	List	   *keys = NIL;
	List	   *aggrefs = NIL;
	ListCell   *lc;
	ListCell   *lc2;

	if (w->setOperations != NULL || q->setOperations != NULL ||
		w->hasAggs != q->hasAggs || w->hasWindowFuncs || w->hasTargetSRFs ||
		w->groupingSets != NIL || w->hasDistinctOn != q->hasDistinctOn ||
		list_length(w->groupClause) != list_length(q->groupClause) ||
		list_length(w->distinctClause) != list_length(q->distinctClause) ||
		(w->havingQual == NULL) != (q->havingQual == NULL))
		return NULL;
	if (q->distinctClause != NIL)
	{
		foreach(lc, w->targetList)
		{
			TargetEntry *tle = lfirst_node(TargetEntry, lc);

			if (!tle->resjunk)
				keys = lappend(keys, tle->expr);
		}
	}
	else
	{
		foreach(lc, w->groupClause)
			keys = lappend(keys, get_sortgroupclause_tle(lfirst_node(SortGroupClause, lc),
														 w->targetList)->expr);
	}
	if (list_length(keys) != list_length(shape->group_exprs))
		return NULL;
	forboth(lc, keys, lc2, shape->group_exprs)
	{
		if (!same_type(lfirst(lc), lfirst(lc2)))
			return NULL;
	}

	(void) collect_aggrefs((Node *) w->targetList, &aggrefs);
	(void) collect_aggrefs(w->havingQual, &aggrefs);
	if (list_length(aggrefs) != list_length(shape->aggs))
		return NULL;

	ws = palloc(sizeof(DeltaShape));
	*ws = *shape;
	ws->query = w;
	ws->group_exprs = keys;
	ws->aggs = NIL;
	ws->written = NULL;
	forboth(lc, aggrefs, lc2, shape->aggs)
	{
		DeltaAgg   *agg = palloc(sizeof(DeltaAgg));

		if (!same_aggregate(lfirst_node(Aggref, lc), ((DeltaAgg *) lfirst(lc2))->aggref))
			return NULL;
		*agg = *(DeltaAgg *) lfirst(lc2);
		agg->aggref = lfirst_node(Aggref, lc);
		ws->aggs = lappend(ws->aggs, agg);
	}
	return ws;
}

static void
exec_ddl(const char *sql)
{
	SPI_connect();
	if (SPI_execute(sql, false, 0) < 0)
		elog(ERROR, "could not change storage table: %s", sql);
	SPI_finish();
}

/*
 * Give the storage table the hidden columns of its shape (dropping hidden
 * columns of an earlier shape) and the index on __pgt_row_id.  Runs as the
 * caller, who owns the table or is a superuser.
 */
void
DeltaPrepareStorage(const StreamTable *st, const DeltaShape *shape)
{
	char	   *table = CatalogRelationName(st->relid);
	ListCell   *lc;

	DeltaDropStorage(st);
	foreach(lc, shape->hidden)
	{
		DeltaColumn *col = lfirst(lc);
		char	   *type = format_type_with_typemod(col->type, col->typmod);

		if (OidIsValid(col->collation) && col->collation != get_typcollation(col->type))
			type = psprintf("%s COLLATE %s", type, generate_collation_name(col->collation));
		exec_ddl(psprintf("ALTER TABLE %s ADD COLUMN %s %s", table,
						  quote_identifier(col->name), type));
	}
	exec_ddl(psprintf("CREATE INDEX ON %s (__pgt_row_id)", table));

	/*
	 * Groups are updated in place without touching __pgt_row_id: room on
	 * each page lets those updates be HOT, sparing the index.
	 */
	if (shape->kind == SHAPE_AGGREGATE)
		exec_ddl(psprintf("ALTER TABLE %s SET (fillfactor = 85)", table));
}

/* Drop every hidden __pgt_* column (their index goes with them). */
void
DeltaDropStorage(const StreamTable *st)
{
	List	   *names = NIL;
	ListCell   *lc;
	int			n;

	SPI_connect();
	if (SPI_execute(psprintf("SELECT attname FROM pg_catalog.pg_attribute"
							 " WHERE attrelid = %u AND attnum > 0 AND NOT attisdropped"
							 "   AND attname LIKE '\\_\\_pgt\\_%%'", st->relid),
					false, 0) < 0)
		elog(ERROR, "could not read columns of %s", st->name);
	n = SPI_processed;
	for (int k = 0; k < n; k++)
		names = lappend(names, SPI_getvalue(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, 1));
	foreach(lc, names)
	{
		if (SPI_execute(psprintf("ALTER TABLE %s DROP COLUMN %s",
								 CatalogRelationName(st->relid),
								 quote_identifier(lfirst(lc))), false, 0) < 0)
			elog(ERROR, "could not drop hidden column");
	}
	SPI_finish();
}
