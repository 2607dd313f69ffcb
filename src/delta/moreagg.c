/*-------------------------------------------------------------------------
 *
 * moreagg.c
 *	  The aggregates beyond count/sum/avg/min/max: bool_and/bool_or/every
 *	  merged from counts, every other aggregate recomputed for the groups a
 *	  change touches.
 *
 * bool_and(x) and bool_or(x) (every is bool_and) keep, per group, the
 * number of non-NULL inputs n and of true inputs t, both exact integers
 * that merge by addition: bool_and = (t = n), bool_or = (t > 0), NULL when
 * n = 0.
 *
 * var_samp/variance/var_pop over integers keep n, sum and sum of squares
 * (exact numeric integers) and compute PostgreSQL's formula with its
 * scales.
 *
 * Any other aggregate (DISTINCT, ORDER BY inside the call, ordered-set
 * aggregates, string_agg, array_agg, json(b)_agg, json(b)_object_agg,
 * stddev, variance over numeric and floats, corr/covar/regr, sum/avg over real, double precision,
 * interval or money, ...) keeps its result as state, and a group is
 * recomputed, by the set-based recompute statement of apply.c, whenever a
 * change of its input reaches the aggregate (a row that passes its FILTER
 * arrives or leaves) or the group is new.  The recomputation computes the
 * aggregate exactly as the query does, over the group's rows, so the
 * stored value is what the aggregate returns over the group's current rows
 * and nothing carries over from one refresh to the next.
 *
 * See src/delta/README.md, "More aggregates".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_aggregate.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "parser/parse_clause.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "delta/delta.h"

/* the argument types shape.c merges sum/avg of (not domains over them) */
static bool
is_integer_or_numeric(Oid type)
{
	return type == INT2OID || type == INT4OID || type == INT8OID || type == NUMERICOID;
}

static bool
is_integer(Oid type)
{
	type = getBaseType(type);
	return type == INT2OID || type == INT4OID || type == INT8OID;
}

/*
 * Classify the aggregates this file handles.  Returns false for what the
 * classic rules of shape.c keep (count, sum and avg over integers and
 * numeric, min, max: plain calls of the pg_catalog aggregates); true
 * otherwise, with agg->kind set, or with *reason set when the aggregate
 * cannot be maintained.
 */
bool
DeltaClassifyMoreAgg(DeltaAgg *agg, const char *name, char **reason)
{
	Aggref	   *aggref = agg->aggref;
	bool		catalog = get_func_namespace(aggref->aggfnoid) == PG_CATALOG_NAMESPACE;
	bool		plain = catalog && aggref->aggkind == AGGKIND_NORMAL &&
		aggref->aggdistinct == NIL && aggref->aggorder == NIL;

	if (aggref->agglevelsup != 0)
		return false;			/* refused by the caller */
	if (plain && aggref->aggstar)
		return false;			/* count(*) */
	if (plain && list_length(aggref->args) == 1)
	{
		Oid			argtype = exprType((Node *) linitial_node(TargetEntry, aggref->args)->expr);

		if (strcmp(name, "bool_and") == 0 || strcmp(name, "every") == 0)
		{
			agg->kind = AGG_BOOL_AND;
			agg->argtype = argtype;
			return true;
		}
		if (strcmp(name, "bool_or") == 0)
		{
			agg->kind = AGG_BOOL_OR;
			agg->argtype = argtype;
			return true;
		}
		if ((strcmp(name, "var_samp") == 0 || strcmp(name, "variance") == 0 ||
			 strcmp(name, "var_pop") == 0) && is_integer(argtype))
		{
			agg->kind = name[4] == 'p' ? AGG_VAR_POP : AGG_VAR_SAMP;
			agg->argtype = argtype;
			return true;
		}
		if (strcmp(name, "count") == 0 || strcmp(name, "min") == 0 ||
			strcmp(name, "max") == 0)
			return false;
		if ((strcmp(name, "sum") == 0 || strcmp(name, "avg") == 0) &&
			is_integer_or_numeric(argtype))
			return false;
	}

	/* everything else: recomputed for the touched groups */
	if (get_typtype(aggref->aggtype) == TYPTYPE_PSEUDO)
	{
		*reason = psprintf("aggregate %s returning %s", name, format_type_be(aggref->aggtype));
		return true;
	}
	if (aggref->aggdirectargs != NIL &&
		(contain_var_clause((Node *) aggref->aggdirectargs) ||
		 contain_agg_clause((Node *) aggref->aggdirectargs)))
	{
		*reason = psprintf("aggregate %s with a direct argument that reads a column", name);
		return true;
	}
	agg->kind = AGG_RECOMPUTE;
	if (aggref->args != NIL)
		agg->argtype = exprType((Node *) linitial_node(TargetEntry, aggref->args)->expr);
	return true;
}

static DeltaColumn *
column(const char *name, Oid type)
{
	DeltaColumn *col = palloc(sizeof(DeltaColumn));

	col->name = pstrdup(name);
	col->type = type;
	col->typmod = -1;
	col->collation = InvalidOid;
	return col;
}

/*
 * The hidden columns of aggregate i beyond __pgt_agg<i> (its result, added
 * by the caller); false for the kinds of shape.c.
 */
bool
DeltaMoreAggHidden(DeltaShape *shape, DeltaAgg *agg, int i)
{
	switch (agg->kind)
	{
		case AGG_BOOL_AND:
		case AGG_BOOL_OR:
			shape->hidden = lappend(shape->hidden, column(psprintf("__pgt_agg%d_n", i), INT8OID));
			shape->hidden = lappend(shape->hidden, column(psprintf("__pgt_agg%d_t", i), INT8OID));
			return true;
		case AGG_VAR_SAMP:
		case AGG_VAR_POP:
			shape->hidden = lappend(shape->hidden, column(psprintf("__pgt_agg%d_n", i), INT8OID));
			shape->hidden = lappend(shape->hidden, column(psprintf("__pgt_agg%d_s", i), NUMERICOID));
			shape->hidden = lappend(shape->hidden, column(psprintf("__pgt_agg%d_q", i), NUMERICOID));
			return true;
		case AGG_RECOMPUTE:
			shape->has_recompute = true;
			return true;
		default:
			return false;
	}
}

/*
 * The input columns of a recomputed aggregate i (DeltaInputQuery): each of
 * its arguments, ORDER BY expressions included, as __pgt_a<i>_<resno>.
 */
List *
DeltaMoreAggInput(DeltaAgg *agg, int i, List *tlist, int *resno)
{
	ListCell   *lc;

	foreach(lc, agg->aggref->args)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		tlist = lappend(tlist, makeTargetEntry(copyObject(tle->expr), ++(*resno),
											   psprintf("__pgt_a%d_%d", i, tle->resno),
											   false));
	}
	return tlist;
}

/* The ORDER BY list of an aggregate, over the input columns. */
static void
append_order_by(StringInfo buf, Aggref *aggref, int i)
{
	ListCell   *lc;
	bool		first = true;

	foreach(lc, aggref->aggorder)
	{
		SortGroupClause *sgc = lfirst_node(SortGroupClause, lc);
		TargetEntry *tle = get_sortgroupclause_tle(sgc, aggref->args);
		Oid			type = exprType((Node *) tle->expr);
		TypeCacheEntry *tc = lookup_type_cache(type, TYPECACHE_LT_OPR | TYPECACHE_GT_OPR);

		appendStringInfo(buf, "%si.__pgt_a%d_%d", first ? "" : ", ", i, tle->resno);
		first = false;
		if (sgc->sortop == tc->lt_opr)
			appendStringInfoString(buf, sgc->nulls_first ? " NULLS FIRST" : "");
		else if (sgc->sortop == tc->gt_opr)
			appendStringInfoString(buf, sgc->nulls_first ? " DESC" : " DESC NULLS LAST");
		else
		{
			HeapTuple	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(sgc->sortop));
			Form_pg_operator op;

			if (!HeapTupleIsValid(tup))
				elog(ERROR, "cache lookup failed for operator %u", sgc->sortop);
			op = (Form_pg_operator) GETSTRUCT(tup);
			appendStringInfo(buf, " USING OPERATOR(%s.%s) NULLS %s",
							 quote_identifier(get_namespace_name(op->oprnamespace)),
							 NameStr(op->oprname),
							 sgc->nulls_first ? "FIRST" : "LAST");
			ReleaseSysCache(tup);
		}
	}
}

/*
 * The call of a recomputed aggregate i over the input relation i (its
 * arguments as the input's columns), as the query wrote it: DISTINCT,
 * ORDER BY, WITHIN GROUP, FILTER.
 */
static char *
recompute_call(DeltaAgg *agg, int i)
{
	Aggref	   *aggref = agg->aggref;
	StringInfoData buf;
	ListCell   *lc;
	bool		first = true;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s(",
					 quote_qualified_identifier(get_namespace_name(get_func_namespace(aggref->aggfnoid)),
												get_func_name(aggref->aggfnoid)));
	if (AGGKIND_IS_ORDERED_SET(aggref->aggkind))
	{
		foreach(lc, aggref->aggdirectargs)
		{
			appendStringInfo(&buf, "%s%s", first ? "" : ", ",
							 deparse_expression(lfirst(lc), NIL, false, false));
			first = false;
		}
		appendStringInfoString(&buf, ") WITHIN GROUP (ORDER BY ");
		append_order_by(&buf, aggref, i);
		appendStringInfoChar(&buf, ')');
	}
	else
	{
		int			nargs = 0;
		int			k = 0;

		foreach(lc, aggref->args)
			if (!lfirst_node(TargetEntry, lc)->resjunk)
				nargs++;
		if (aggref->aggstar)
			appendStringInfoChar(&buf, '*');
		if (aggref->aggdistinct != NIL)
			appendStringInfoString(&buf, "DISTINCT ");
		foreach(lc, aggref->args)
		{
			TargetEntry *tle = lfirst_node(TargetEntry, lc);

			if (tle->resjunk)
				continue;
			k++;
			appendStringInfo(&buf, "%s%si.__pgt_a%d_%d", first ? "" : ", ",
							 aggref->aggvariadic && k == nargs ? "VARIADIC " : "",
							 i, tle->resno);
			first = false;
		}
		if (aggref->aggorder != NIL)
		{
			appendStringInfoString(&buf, " ORDER BY ");
			append_order_by(&buf, aggref, i);
		}
		appendStringInfoChar(&buf, ')');
	}
	if (aggref->aggfilter != NULL)
		appendStringInfo(&buf, " FILTER (WHERE i.__pgt_f%d)", i);
	return buf.data;
}

/*
 * The state columns of aggregate i computed over the input relation i
 * (state_select of apply.c); false for the kinds of shape.c.
 */
bool
DeltaMoreAggState(DeltaAgg *agg, int i, StringInfo buf)
{
	const char *filter = agg->aggref->aggfilter ? psprintf("i.__pgt_f%d AND ", i) : "";

	switch (agg->kind)
	{
		case AGG_BOOL_AND:
		case AGG_BOOL_OR:
			appendStringInfo(buf, ", pg_catalog.%s(i.__pgt_a%d) FILTER (WHERE %strue) AS __pgt_agg%d"
							 ", pg_catalog.count(i.__pgt_a%d) FILTER (WHERE %strue) AS __pgt_agg%d_n"
							 ", pg_catalog.count(*) FILTER (WHERE %si.__pgt_a%d) AS __pgt_agg%d_t",
							 agg->kind == AGG_BOOL_AND ? "bool_and" : "bool_or",
							 i, filter, i, i, filter, i, filter, i, i);
			return true;
		case AGG_VAR_SAMP:
		case AGG_VAR_POP:
			{
				const char *fw = agg->aggref->aggfilter ? psprintf(" FILTER (WHERE i.__pgt_f%d)", i) : "";
				char	   *x = psprintf("i.__pgt_a%d::pg_catalog.numeric", i);

				appendStringInfo(buf, ", pg_catalog.%s(i.__pgt_a%d)%s AS __pgt_agg%d"
								 ", pg_catalog.count(i.__pgt_a%d)%s AS __pgt_agg%d_n"
								 ", pg_catalog.sum(%s)%s AS __pgt_agg%d_s"
								 ", pg_catalog.sum(%s * %s)%s AS __pgt_agg%d_q",
								 agg->kind == AGG_VAR_POP ? "var_pop" : "var_samp",
								 i, fw, i, i, fw, i, x, fw, i, x, x, fw, i);
				return true;
			}
		case AGG_RECOMPUTE:
			appendStringInfo(buf, ", %s AS __pgt_agg%d", recompute_call(agg, i), i);
			return true;
		default:
			return false;
	}
}

/*
 * The merge of aggregate i (agg_apply_sql of apply.c): its per-group delta
 * (g, over the delta d; f is its FILTER over d, a its argument), the old
 * state (m, from the stored row s), when the group must be recomputed (rc)
 * and its new state (n, from m).  False for the kinds of shape.c.
 */
bool
DeltaMoreAggMerge(DeltaAgg *agg, int i, const char *f, const char *a,
				  StringInfo g, StringInfo m, StringInfo rc, StringInfo n)
{
	switch (agg->kind)
	{
		case AGG_BOOL_AND:
		case AGG_BOOL_OR:
			{
				char	   *newn = psprintf("(coalesce(m.__pgt_o%d_n, 0) + coalesce(m.__pgt_d%d_n, 0))", i, i);
				char	   *newt = psprintf("(coalesce(m.__pgt_o%d_t, 0) + coalesce(m.__pgt_d%d_t, 0))", i, i);

				appendStringInfo(g, ", pg_catalog.sum(d.__pgt_m) FILTER (WHERE %s AND %s IS NOT NULL) AS __pgt_d%d_n"
								 ", pg_catalog.sum(d.__pgt_m) FILTER (WHERE %s AND %s) AS __pgt_d%d_t",
								 f, a, i, f, a, i);
				appendStringInfo(m, ", s.__pgt_agg%d_n AS __pgt_o%d_n, s.__pgt_agg%d_t AS __pgt_o%d_t",
								 i, i, i, i);
				appendStringInfo(n, ", %s::pg_catalog.int8 AS __pgt_agg%d_n, %s::pg_catalog.int8 AS __pgt_agg%d_t"
								 ", (CASE WHEN %s = 0 THEN NULL ELSE %s %s END)::pg_catalog.bool AS __pgt_agg%d",
								 newn, i, newt, i, newn, newt,
								 agg->kind == AGG_BOOL_AND ? psprintf("= %s", newn) : "> 0", i);
				return true;
			}
		case AGG_VAR_SAMP:
		case AGG_VAR_POP:
			{
				char	   *x = psprintf("%s::pg_catalog.numeric", a);
				char	   *newn = psprintf("(coalesce(m.__pgt_o%d_n, 0) + coalesce(m.__pgt_d%d_n, 0))", i, i);
				char	   *news = psprintf("(coalesce(m.__pgt_o%d_s, 0) + coalesce(m.__pgt_d%d_s, 0))", i, i);
				char	   *newq = psprintf("(coalesce(m.__pgt_o%d_q, 0) + coalesce(m.__pgt_d%d_q, 0))", i, i);
				char	   *num = psprintf("(%s::pg_catalog.numeric * %s - %s * %s)", newn, newq, news, news);

				appendStringInfo(g, ", pg_catalog.sum(d.__pgt_m) FILTER (WHERE %s AND %s IS NOT NULL) AS __pgt_d%d_n"
								 ", pg_catalog.sum(%s * d.__pgt_m) FILTER (WHERE %s AND %s IS NOT NULL) AS __pgt_d%d_s"
								 ", pg_catalog.sum(%s * %s * d.__pgt_m) FILTER (WHERE %s AND %s IS NOT NULL) AS __pgt_d%d_q",
								 f, a, i, x, f, a, i, x, x, f, a, i);
				appendStringInfo(m, ", s.__pgt_agg%d_n AS __pgt_o%d_n, s.__pgt_agg%d_s AS __pgt_o%d_s"
								 ", s.__pgt_agg%d_q AS __pgt_o%d_q", i, i, i, i, i, i);

				/*
				 * PostgreSQL's own formula (numeric_stddev_internal), with
				 * the same scales: the integer inputs make n, sum and sum of
				 * squares exact integers, so the numeric division below is
				 * the one the aggregate performs, digit for digit.
				 */
				appendStringInfo(n, ", %s::pg_catalog.int8 AS __pgt_agg%d_n, %s::pg_catalog.numeric AS __pgt_agg%d_s"
								 ", %s::pg_catalog.numeric AS __pgt_agg%d_q"
								 ", (CASE WHEN %s < %d THEN NULL WHEN %s <= 0 THEN 0::pg_catalog.numeric"
								 " ELSE %s / (%s::pg_catalog.numeric * %s) END)::pg_catalog.numeric AS __pgt_agg%d",
								 newn, i, news, i, newq, i,
								 newn, agg->kind == AGG_VAR_POP ? 1 : 2, num,
								 num, newn, agg->kind == AGG_VAR_POP ? newn : psprintf("(%s - 1)", newn), i);
				return true;
			}
		case AGG_RECOMPUTE:

			/*
			 * Recomputed when a row that passes its FILTER arrives or leaves
			 * (rows that cancel within the delta included: only the
			 * recomputation knows), and for a new group, whose aggregate
			 * over no rows is not always NULL (count(DISTINCT x) is 0).
			 */
			appendStringInfo(g, ", pg_catalog.count(*) FILTER (WHERE %s) AS __pgt_d%d_t", f, i);
			appendStringInfo(rc, " OR g.__pgt_d%d_t > 0 OR s.__pgt_ctid IS NULL", i);
			appendStringInfo(n, ", m.__pgt_o%d AS __pgt_agg%d", i, i);
			return true;
		default:
			return false;
	}
}

/*
 * Types whose JSON text does not depend on settings: json(b)_agg and
 * json(b)_object_agg convert their inputs with the output functions of
 * their types (and their own fixed ISO 8601 form for date and timestamp);
 * for these types that text depends on the value alone.  Not: real and
 * double precision (extra_float_digits), timestamp with time zone and
 * time with time zone (TimeZone), interval (IntervalStyle), money
 * (lc_monetary), bytea (bytea_output), composite types, and any other type
 * (whose output function pg_trickle cannot vouch for).
 */
static bool
json_safe_type(Oid type)
{
	Oid			elem;

	type = getBaseType(type);
	elem = get_element_type(type);
	if (OidIsValid(elem))
		type = getBaseType(elem);
	switch (type)
	{
		case BOOLOID:
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case NUMERICOID:
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case NAMEOID:
		case JSONOID:
		case JSONBOID:
		case UUIDOID:
		case DATEOID:
		case TIMESTAMPOID:
			return true;
		default:
			return false;
	}
}

/*
 * json_agg, jsonb_agg, json_object_agg and jsonb_object_agg (and their
 * variants) are STABLE in the catalog because the JSON text of a value may
 * depend on settings.  Over arguments whose types are safe (above) their
 * result depends on the rows alone: true.  False with *reason set, naming
 * the first argument type that is not; false without a reason for any
 * other aggregate.
 */
bool
DeltaJsonAggSafe(Aggref *aggref, char **reason)
{
	char	   *name;
	ListCell   *lc;

	*reason = NULL;
	if (get_func_namespace(aggref->aggfnoid) != PG_CATALOG_NAMESPACE ||
		func_volatile(aggref->aggfnoid) != PROVOLATILE_STABLE)
		return false;
	name = get_func_name(aggref->aggfnoid);
	if (strncmp(name, "json", 4) != 0)
		return false;
	foreach(lc, aggref->args)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		Oid			type = exprType((Node *) tle->expr);

		if (tle->resjunk)
			continue;			/* an ORDER BY expression: not converted */
		if (!json_safe_type(type))
		{
			*reason = psprintf("aggregate %s over %s, which is STABLE, not IMMUTABLE: the JSON text of a %s value depends on settings (only boolean, integer, numeric, text, character varying, character, name, json, jsonb, uuid, date and timestamp without time zone, domains over them and arrays of them are accepted)",
							   format_procedure(aggref->aggfnoid), format_type_be(type),
							   format_type_be(type));
			return false;
		}
	}
	return true;
}

/* The text of an aggregate call, deparsed in its query. */
static char *
aggref_text(Query *query, Aggref *aggref)
{
	Query	   *q = copyObject(query);
	char	   *sql;
	char	   *end;

	q->targetList = list_make1(makeTargetEntry((Expr *) copyObject(aggref), 1,
											   pstrdup("__pgt_explain"), false));
	q->groupClause = NIL;
	q->havingQual = NULL;
	q->sortClause = NIL;
	q->distinctClause = NIL;
	q->hasAggs = true;
	sql = pg_get_querydef(q, false);
	while (*sql == ' ' || *sql == '\n')
		sql++;
	if (strncmp(sql, "SELECT ", 7) == 0)
		sql += 7;
	end = strstr(sql, " AS __pgt_explain");
	if (end != NULL)
		*end = '\0';
	return sql;
}

/*
 * Per aggregate of an aggregate shape, how it is maintained, one line
 * each (explain_st, property aggregate_maintenance); NULL when the shape
 * has none.  The wording matches the support table of
 * docs/differential.md.
 */
char *
DeltaAggMaintenance(const DeltaShape *shape)
{
	StringInfoData buf;
	ListCell   *lc;

	if (shape->kind != SHAPE_AGGREGATE || shape->aggs == NIL)
		return NULL;
	initStringInfo(&buf);
	foreach(lc, shape->aggs)
	{
		DeltaAgg   *agg = lfirst(lc);
		const char *how;

		switch (agg->kind)
		{
			case AGG_COUNT_STAR:
			case AGG_COUNT:
			case AGG_BOOL_AND:
			case AGG_BOOL_OR:
			case AGG_VAR_SAMP:
			case AGG_VAR_POP:
				how = "algebraic merge";
				break;
			case AGG_SUM:
			case AGG_AVG:
				how = getBaseType(agg->argtype) == NUMERICOID ?
					"algebraic merge (recompute of the groups that lose a NaN or an infinity)" :
					"algebraic merge";
				break;
			case AGG_MIN:
			case AGG_MAX:
				how = "algebraic merge (recompute of the groups that lose their extreme)";
				break;
			case AGG_RECOMPUTE:
			default:
				how = "recompute of the touched groups";
				break;
		}
		appendStringInfo(&buf, "%s%s: %s", buf.len > 0 ? "\n" : "",
						 aggref_text(shape->query, agg->aggref), how);
	}
	if (shape->has_having)
		appendStringInfoString(&buf, "\nHAVING: recompute of the touched groups");
	return buf.data;
}
