/*-------------------------------------------------------------------------
 *
 * apply.c
 *	  The statements that bring a storage table from its old contents to
 *	  the new ones: by delta (DeltaApplySql) or from scratch (DeltaFullSql).
 *
 * Each is one SQL statement (data-modifying CTEs) returning the numbers of
 * rows inserted, deleted and updated, run under the refresh's snapshot.
 *
 * SPJ shape: the delta is consolidated per distinct row (by its text form,
 * looked up by __pgt_row_id, a hash by the column types' own hash
 * functions); k copies are deleted or inserted.
 *
 * Aggregate shape: a CTE "n" computes the new state of every affected
 * group, named exactly like the storage table's columns — merged from the
 * stored state and the delta, or recomputed from the sources for a group
 * whose min/max lost its extreme, or for every affected group when there is
 * a HAVING (a group that failed it has no stored state).  The visible
 * columns are the query's output expressions with each aggregate replaced
 * by its state column, deparsed against the storage table ("n.col").
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/ruleutils.h"

#include "catalog/pgt_catalog.h"
#include "delta/delta.h"
#include "refresh/refresh.h"

/*
 * A condition that holds once the data-modifying CTE cte has run to
 * completion: an uncorrelated subquery, evaluated (as an initplan, a
 * one-time filter) before the statement that carries it writes its first
 * row.  The order of data-modifying CTEs is otherwise unspecified; this is
 * what makes deletes come before updates and updates before inserts, so
 * that a UNIQUE index on the stream table sees, at every step, a subset of
 * the new contents (a key that moves from one row to another does not
 * collide with its old copy).
 */
#define AFTER(cte) "(SELECT pg_catalog.count(*) FROM " cte ") >= 0"

#define HASH_OF(cols) psprintf("pg_catalog.hash_record_extended(ROW(%s), 0)", cols)

typedef struct FinalizeContext
{
	const DeltaShape *shape;
	Oid			relid;
	bool		failed;
} FinalizeContext;

static Var *
storage_var(Oid relid, const char *column)
{
	AttrNumber	attno = get_attnum(relid, column);
	Oid			type;
	int32		typmod;
	Oid			coll;

	if (attno == InvalidAttrNumber)
		elog(ERROR, "storage table has no column \"%s\"", column);
	get_atttypetypmodcoll(relid, attno, &type, &typmod, &coll);
	return makeVar(1, attno, type, typmod, coll, 0);
}

static Node *
finalize_mutator(Node *node, FinalizeContext *ctx)
{
	ListCell   *lc;
	int			i;

	if (node == NULL)
		return NULL;
	i = 0;
	foreach(lc, ctx->shape->group_exprs)
	{
		if (equal(node, lfirst(lc)))
			return (Node *) storage_var(ctx->relid, list_nth(ctx->shape->key_columns, i));
		i++;
	}
	if (IsA(node, Aggref))
	{
		i = 0;
		foreach(lc, ctx->shape->aggs)
		{
			i++;
			if (equal(node, ((DeltaAgg *) lfirst(lc))->aggref))
				return (Node *) storage_var(ctx->relid, psprintf("__pgt_agg%d", i));
		}
		elog(ERROR, "aggregate not found in shape");
	}
	if (IsA(node, Var))
	{
		ctx->failed = true;
		return node;
	}
	return expression_tree_mutator(node, finalize_mutator, ctx);
}

/* An output expression over the state relation n, as SQL. */
static char *
finalize_sql(const DeltaShape *shape, Oid relid, Node *expr)
{
	FinalizeContext ctx = {shape, relid, false};
	Node	   *mutated = finalize_mutator(expr, &ctx);

	if (ctx.failed)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("an output column uses a column that is neither grouped nor aggregated")));
	return deparse_expression(mutated, deparse_context_for("n", relid), true, false);
}

static char *
list_join(List *items, const char *prefix, const char *sep)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, items)
		appendStringInfo(&buf, "%s%s%s", buf.len ? sep : "", prefix,
						 quote_identifier(lfirst(lc)));
	return buf.data;
}

static char *
hidden_names(const DeltaShape *shape, const char *prefix, const char *sep)
{
	List	   *names = NIL;
	ListCell   *lc;

	foreach(lc, shape->hidden)
		names = lappend(names, ((DeltaColumn *) lfirst(lc))->name);
	return list_join(names, prefix, sep);
}

/* The visible columns, computed from n. */
static char *
visible_from_state(const DeltaShape *shape, Oid relid)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, shape->query->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (tle->resjunk)
			continue;
		appendStringInfo(&buf, "%s%s", buf.len ? ", " : "",
						 finalize_sql(shape, relid, (Node *) tle->expr));
	}
	return buf.data;
}

/* HAVING over n, or "true". */
static char *
having_over_state(const DeltaShape *shape, Oid relid)
{
	if (!shape->has_having)
		return "true";
	return psprintf("(%s)", finalize_sql(shape, relid, shape->query->havingQual));
}

/*
 * State of the groups of an input relation i (the DeltaInputQuery), named
 * like the storage columns: key columns, count, aggregate states.
 */
static char *
state_select(const DeltaShape *shape)
{
	StringInfoData buf;
	ListCell   *lc;
	int			i = 0;

	initStringInfo(&buf);
	foreach(lc, shape->key_columns)
	{
		i++;
		appendStringInfo(&buf, "i.__pgt_k%d AS %s, ", i, quote_identifier(lfirst(lc)));
	}
	appendStringInfoString(&buf, "pg_catalog.count(*) AS __pgt_count");
	i = 0;
	foreach(lc, shape->aggs)
	{
		DeltaAgg   *agg = lfirst(lc);
		char	   *filter;
		char	   *a;

		i++;
		filter = agg->aggref->aggfilter ? psprintf(" FILTER (WHERE i.__pgt_f%d)", i) : "";
		a = psprintf("i.__pgt_a%d", i);
		if (DeltaMoreAggState(agg, i, &buf))
			continue;
		switch (agg->kind)
		{
			case AGG_COUNT_STAR:
				appendStringInfo(&buf, ", pg_catalog.count(*)%s AS __pgt_agg%d", filter, i);
				break;
			case AGG_COUNT:
				appendStringInfo(&buf, ", pg_catalog.count(%s)%s AS __pgt_agg%d", a, filter, i);
				break;
			case AGG_SUM:
			case AGG_MIN:
			case AGG_MAX:
				appendStringInfo(&buf, ", pg_catalog.%s(%s)%s AS __pgt_agg%d, pg_catalog.count(%s)%s AS __pgt_agg%d_n",
								 agg->kind == AGG_SUM ? "sum" : agg->kind == AGG_MIN ? "min" : "max",
								 a, filter, i, a, filter, i);
				break;
			case AGG_AVG:
				appendStringInfo(&buf, ", pg_catalog.avg(%s)%s AS __pgt_agg%d, pg_catalog.count(%s)%s AS __pgt_agg%d_n,"
								 " pg_catalog.sum(%s::pg_catalog.numeric)%s AS __pgt_agg%d_s",
								 a, filter, i, a, filter, i, a, filter, i);
				break;
			default:
				elog(ERROR, "unexpected aggregate kind %d", (int) agg->kind);
		}
	}
	return buf.data;
}

static char *
group_by_keys(const DeltaShape *shape, const char *prefix)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 1; i <= list_length(shape->key_columns); i++)
		appendStringInfo(&buf, "%s%s__pgt_k%d", i > 1 ? ", " : "", prefix, i);
	return buf.data;
}

static char *
row_id_of(const DeltaShape *shape, const char *alias)
{
	if (shape->scalar)
		return "0::pg_catalog.int8";
	return HASH_OF(list_join(shape->key_columns, psprintf("%s.", alias), ", "));
}

/*
 * The input relation of a recomputation of every group (DeltaInputQuery),
 * as SQL: over the defining query as written where the shape found its
 * group keys and aggregates there (DeltaShape.written), as a FULL refresh
 * runs it, so that PostgreSQL plans its sublinks itself (a correlated
 * scalar subquery per outer row through an index, NOT EXISTS as an
 * anti-join); over the rewritten query otherwise.  Both have the same
 * rows, so the state columns computed from them are the same.
 */
static char *
full_input_sql(const DeltaShape *shape)
{
	return pg_get_querydef(DeltaInputQuery(shape->written ? shape->written : shape),
						   false);
}

/*
 * The rows a recomputation writes into the storage table: the query's
 * result with the hidden columns of the shape, as a SELECT.  *target gets
 * the storage columns its output columns go to, in order (quoted, comma
 * separated, as an INSERT's column list).
 */
char *
DeltaFullSelectSql(const StreamTable *st, const DeltaShape *shape, char **target)
{
	char	   *visible = list_join(shape->visible, "", ", ");

	/*
	 * A projection's hidden column is a hash of its output row, so the
	 * recomputation runs the defining query as written, as a FULL refresh
	 * does, not the form the delta rules rewrote it into: a correlated
	 * scalar subquery made a LEFT JOIN to a grouped subquery aggregates all
	 * of its input, where the planner runs the original per outer row
	 * through an index (TPC-H Q20: 146 ms against 14 ms).  The view's own
	 * text, not a parse tree of the engine: a CTE referenced twice stays a
	 * CTE, computed once (TPC-H Q15), where the engine inlines each
	 * reference.
	 */
	if (shape->kind == SHAPE_SPJ)
	{
		*target = psprintf("%s, __pgt_row_id", visible);
		return psprintf("SELECT q.*, %s FROM (%s) q(%s)",
						HASH_OF(list_join(shape->visible, "q.", ", ")),
						DependViewQuery(st->query_relid),
						visible);
	}

	*target = psprintf("%s, %s", visible, hidden_names(shape, "", ", "));
	return psprintf("SELECT %s, %s FROM ("
					"   SELECT s.*, %s AS __pgt_row_id FROM ("
					"     SELECT %s FROM (%s) i %s%s) s) n"
					" WHERE %s",
					visible_from_state(shape, st->relid), hidden_names(shape, "n.", ", "),
					row_id_of(shape, "s"),
					state_select(shape), full_input_sql(shape),
					shape->scalar ? "" : "GROUP BY ", shape->scalar ? "" : group_by_keys(shape, "i."),
					having_over_state(shape, st->relid));
}

/* The recomputation as one statement returning (inserted, 0, 0). */
char *
DeltaFullSql(const StreamTable *st, const DeltaShape *shape)
{
	char	   *target;
	char	   *select = DeltaFullSelectSql(st, shape, &target);

	return psprintf("WITH ins AS (INSERT INTO %s (%s) %s RETURNING 1)"
					" SELECT (SELECT pg_catalog.count(*) FROM ins), 0::pg_catalog.int8, 0::pg_catalog.int8",
					CatalogRelationName(st->relid), target, select);
}

/*
 * Apply a change of a projection shape given as SQL (its output columns,
 * then __pgt_m): consolidate it per distinct row image and delete or
 * insert that many copies.
 */
static char *
spj_apply_sql(const StreamTable *st, const DeltaShape *shape, const char *change)
{
	char	   *table = CatalogRelationName(st->relid);
	int			n = list_length(shape->visible);
	StringInfoData dcols;
	StringInfoData gcols;
	StringInfoData ocols;

	initStringInfo(&dcols);
	initStringInfo(&gcols);
	initStringInfo(&ocols);
	for (int i = 1; i <= n; i++)
	{
		appendStringInfo(&dcols, "%sd.__pgt_c%d", i > 1 ? ", " : "", i);
		appendStringInfo(&gcols, "%sg.__pgt_c%d", i > 1 ? ", " : "", i);
		appendStringInfo(&ocols, "%so.__pgt_c%d", i > 1 ? ", " : "", i);
	}

	/*
	 * Rows are consolidated by their binary image (record image order *<,
	 * equality *=), as change sets are: runs of binary-equal rows in that
	 * order get one group number, so that 1.0 and 1.00 stay two rows and a
	 * change from one to the other is applied.  A stored copy is found by
	 * its __pgt_row_id (a hash consistent with equality, hence with binary
	 * equality) and confirmed by *=, never by the hash alone.
	 */
	return psprintf("WITH d AS (SELECT * FROM (%s) d(%s, __pgt_m)),"
					" o AS (SELECT d.*, CASE WHEN ROW(%s)::pg_catalog.record OPERATOR(pg_catalog.*=)"
					"                 pg_catalog.lag(ROW(%s)) OVER (ORDER BY ROW(%s) USING OPERATOR(pg_catalog.*<))"
					"              THEN 0 ELSE 1 END AS __pgt_b FROM d),"
					" r AS (SELECT o.*, pg_catalog.sum(o.__pgt_b) OVER (ORDER BY ROW(%s) USING OPERATOR(pg_catalog.*<))"
					"              AS __pgt_gid FROM o),"
					" g AS (SELECT %s, %s AS __pgt_h, pg_catalog.sum(d.__pgt_m) AS __pgt_n"
					"         FROM r d GROUP BY d.__pgt_gid, %s HAVING pg_catalog.sum(d.__pgt_m) <> 0),"
					" k AS (SELECT x.ctid AS __pgt_ctid FROM g CROSS JOIN LATERAL ("
					"         SELECT s.ctid FROM %s s"
					"          WHERE s.__pgt_row_id = g.__pgt_h"
					"            AND ROW(%s)::pg_catalog.record OPERATOR(pg_catalog.*=) ROW(%s)::pg_catalog.record"
					"          LIMIT -g.__pgt_n) x"
					"        WHERE g.__pgt_n < 0),"
					" del AS (DELETE FROM %s t USING k WHERE t.ctid = k.__pgt_ctid RETURNING 1),"
					" ins AS (INSERT INTO %s (%s, __pgt_row_id)"
					"         SELECT %s, g.__pgt_h FROM g, pg_catalog.generate_series(1, g.__pgt_n)"
					"          WHERE g.__pgt_n > 0 AND " AFTER("del") " RETURNING 1)"
					" SELECT (SELECT pg_catalog.count(*) FROM ins), (SELECT pg_catalog.count(*) FROM del),"
					"        0::pg_catalog.int8",
					change, DeltaPositionalNames(n),
					dcols.data, dcols.data, dcols.data, ocols.data,
					dcols.data, HASH_OF(dcols.data), dcols.data,
					table, list_join(shape->visible, "s.", ", "), gcols.data,
					table, table, list_join(shape->visible, "", ", "),
					gcols.data);
}

/* Column type as SQL, for casts. */
static char *
type_sql(Oid type, int32 typmod)
{
	return format_type_with_typemod(type, typmod);
}

/*
 * The SET list that brings a stored group to its new state in n: the
 * visible columns and the state, not the key.
 */
static char *
update_set_sql(const StreamTable *st, const DeltaShape *shape)
{
	StringInfoData set;
	ListCell   *lc;
	int			vi = 0;

	initStringInfo(&set);
	foreach(lc, shape->query->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (tle->resjunk)
			continue;
		appendStringInfo(&set, "%s%s = %s", vi++ ? ", " : "", quote_identifier(tle->resname),
						 finalize_sql(shape, st->relid, (Node *) tle->expr));
	}
	foreach(lc, shape->hidden)
	{
		DeltaColumn *col = lfirst(lc);

		if (strcmp(col->name, "__pgt_row_id") == 0 ||
			strncmp(col->name, "__pgt_key", 9) == 0)
			continue;
		appendStringInfo(&set, ", %s = n.%s", col->name, col->name);
	}
	return set.data;
}

/*
 * Whether some groups must be recomputed rather than merged: a min/max
 * that lost its extreme, any group under HAVING, a numeric sum/avg that
 * lost a NaN or an infinity.
 */
static bool
needs_recompute(const DeltaShape *shape)
{
	return shape->has_minmax || shape->has_having || shape->has_nonfinite ||
		shape->has_recompute;
}

/*
 * The data-modifying CTEs that bring the storage rows of the groups in n
 * (named like the storage columns, with __pgt_ctid of the stored row or
 * NULL, and __pgt_rc: left to the recomputation) to their new state.
 */
static char *
write_sql(const StreamTable *st, const DeltaShape *shape)
{
	char	   *table = CatalogRelationName(st->relid);
	char	   *keep;
	char	   *set;

	/* a HAVING that is NULL drops the group, as in the query */
	keep = psprintf("(%s) AND coalesce(%s, false)", shape->scalar ? "true" : "n.__pgt_count > 0",
					having_over_state(shape, st->relid));

	set = update_set_sql(st, shape);

	return psprintf(" del AS (DELETE FROM %s t USING n WHERE t.ctid = n.__pgt_ctid AND NOT (%s) RETURNING 1),"
					" upd AS (UPDATE %s t SET %s FROM n WHERE t.ctid = n.__pgt_ctid AND %s"
					"          AND " AFTER("del") " RETURNING 1),"
					" ins AS (INSERT INTO %s (%s, %s) SELECT %s, %s FROM n"
					"          WHERE n.__pgt_ctid IS NULL AND %s AND " AFTER("upd") " RETURNING 1)",
					table, keep,
					table, set, keep,
					table, list_join(shape->visible, "", ", "), hidden_names(shape, "", ", "),
					visible_from_state(shape, st->relid), hidden_names(shape, "n.", ", "),
					keep);
}

static char *
agg_apply_sql(const StreamTable *st, const DeltaShape *shape, List *pending)
{
	char	   *table = CatalogRelationName(st->relid);
	Query	   *input = DeltaInputQuery(shape);
	StringInfoData g;			/* per-group delta */
	StringInfoData m;			/* old state */
	StringInfoData rc;			/* recompute condition */
	StringInfoData n;			/* new state */
	StringInfoData keymatch;	/* storage row = group */
	StringInfoData rkcols;		/* rk's columns */
	StringInfoData rkout;		/* the keys to recompute, as output */
	StringInfoData rkagg;		/* ... aggregated */
	ListCell   *lc;
	int			i;

	initStringInfo(&g);
	initStringInfo(&m);
	initStringInfo(&rc);
	initStringInfo(&n);
	initStringInfo(&keymatch);
	initStringInfo(&rkcols);
	initStringInfo(&rkout);
	initStringInfo(&rkagg);

	i = 0;
	foreach(lc, shape->key_columns)
	{
		const char *col = quote_identifier(lfirst(lc));

		i++;
		appendStringInfo(&g, "d.__pgt_k%d AS %s, ", i, col);
		appendStringInfo(&keymatch, " AND s.%s IS NOT DISTINCT FROM g.%s", col, col);
		appendStringInfo(&rkcols, ", m.%s", col);
		appendStringInfo(&n, "m.%s, ", col);
	}
	appendStringInfoString(&g, "pg_catalog.sum(d.__pgt_m) AS __pgt_dcount");
	appendStringInfo(&n, "%s AS __pgt_row_id,"
					 " (coalesce(m.__pgt_ocount, 0) + coalesce(m.__pgt_dcount, 0))::pg_catalog.int8"
					 " AS __pgt_count",
					 row_id_of(shape, "m"));
	appendStringInfoString(&rc, shape->has_having ? "true" : "false");

	i = 0;
	foreach(lc, shape->aggs)
	{
		DeltaAgg   *agg = lfirst(lc);
		char	   *f;
		char	   *a = psprintf("d.__pgt_a%d", i + 1);
		char	   *res = type_sql(agg->restype, agg->restypmod);
		char	   *newn;

		i++;
		f = agg->aggref->aggfilter ? psprintf("d.__pgt_f%d", i) : "true";
		appendStringInfo(&m, ", s.__pgt_agg%d AS __pgt_o%d", i, i);
		if (DeltaMoreAggMerge(agg, i, f, a, &g, &m, &rc, &n))
			continue;
		switch (agg->kind)
		{
			case AGG_COUNT_STAR:
			case AGG_COUNT:
				appendStringInfo(&g, ", pg_catalog.sum(d.__pgt_m) FILTER (WHERE %s%s) AS __pgt_d%d",
								 f, agg->kind == AGG_COUNT ? psprintf(" AND %s IS NOT NULL", a) : "", i);
				appendStringInfo(&n, ", (coalesce(m.__pgt_o%d, 0) + coalesce(m.__pgt_d%d, 0))::%s AS __pgt_agg%d",
								 i, i, res, i);
				break;
			case AGG_SUM:
			case AGG_AVG:
			case AGG_MIN:
			case AGG_MAX:
				appendStringInfo(&g, ", pg_catalog.sum(d.__pgt_m) FILTER (WHERE %s AND %s IS NOT NULL) AS __pgt_d%d_n",
								 f, a, i);
				appendStringInfo(&m, ", s.__pgt_agg%d_n AS __pgt_o%d_n", i, i);
				newn = psprintf("(coalesce(m.__pgt_o%d_n, 0) + coalesce(m.__pgt_d%d_n, 0))", i, i);
				if ((agg->kind == AGG_SUM || agg->kind == AGG_AVG) &&
					getBaseType(agg->argtype) == NUMERICOID)
				{
					/*
					 * A NaN or +-Infinity that leaves the group cannot be
					 * subtracted (NaN - NaN is NaN): such a group is
					 * recomputed.  Arriving ones merge exactly.
					 */
					appendStringInfo(&g, ", pg_catalog.count(*) FILTER (WHERE %s AND d.__pgt_m < 0"
									 " AND %s IN ('NaN'::pg_catalog.numeric, 'Infinity'::pg_catalog.numeric,"
									 " '-Infinity'::pg_catalog.numeric)) AS __pgt_d%d_nf",
									 f, a, i);
					appendStringInfo(&rc, " OR g.__pgt_d%d_nf > 0", i);
				}
				appendStringInfo(&n, ", %s::pg_catalog.int8 AS __pgt_agg%d_n", newn, i);
				if (agg->kind == AGG_SUM)
				{
					appendStringInfo(&g, ", pg_catalog.sum(%s::%s * d.__pgt_m) FILTER (WHERE %s AND %s IS NOT NULL) AS __pgt_d%d",
									 a, res, f, a, i);
					appendStringInfo(&n, ", (CASE WHEN %s = 0 THEN NULL"
									 " ELSE coalesce(m.__pgt_o%d, 0) + coalesce(m.__pgt_d%d, 0) END)::%s AS __pgt_agg%d",
									 newn, i, i, res, i);
				}
				else if (agg->kind == AGG_AVG)
				{
					char	   *news = psprintf("(coalesce(m.__pgt_o%d_s, 0) + coalesce(m.__pgt_d%d_s, 0))", i, i);

					appendStringInfo(&g, ", pg_catalog.sum(%s::pg_catalog.numeric * d.__pgt_m) FILTER (WHERE %s AND %s IS NOT NULL) AS __pgt_d%d_s",
									 a, f, a, i);
					appendStringInfo(&m, ", s.__pgt_agg%d_s AS __pgt_o%d_s", i, i);
					appendStringInfo(&n, ", %s::pg_catalog.numeric AS __pgt_agg%d_s", news, i);
					appendStringInfo(&n, ", (CASE WHEN %s = 0 THEN NULL ELSE %s / %s END)::%s AS __pgt_agg%d",
									 newn, news, newn, res, i);
				}
				else
				{
					const char *fn = agg->kind == AGG_MIN ? "min" : "max";
					const char *pick = agg->kind == AGG_MIN ? "LEAST" : "GREATEST";
					const char *cmp = agg->kind == AGG_MIN ? "<=" : ">=";

					appendStringInfo(&g, ", pg_catalog.%s(%s) FILTER (WHERE %s AND %s IS NOT NULL AND d.__pgt_m > 0) AS __pgt_d%d_ins"
									 ", pg_catalog.%s(%s) FILTER (WHERE %s AND %s IS NOT NULL AND d.__pgt_m < 0) AS __pgt_d%d_del",
									 fn, a, f, a, i, fn, a, f, a, i);
					/*
					 * The group lost (a copy of) its extreme.  An inserted
					 * value reaching it does not settle it: in a join's
					 * delta a value can come with +1 from one term and -1
					 * from another, cancelling; only the recomputation knows.
					 */
					appendStringInfo(&rc, " OR (g.__pgt_d%d_del IS NOT NULL AND (s.__pgt_agg%d IS NULL OR g.__pgt_d%d_del %s s.__pgt_agg%d))",
									 i, i, i, cmp, i);
					appendStringInfo(&n, ", (CASE WHEN %s = 0 THEN NULL ELSE %s(m.__pgt_o%d, m.__pgt_d%d_ins) END)::%s AS __pgt_agg%d",
									 newn, pick, i, i, res, i);
				}
				break;
			default:
				elog(ERROR, "unexpected aggregate kind %d", (int) agg->kind);
		}
	}
	appendStringInfoString(&n, ", m.__pgt_ctid, m.__pgt_rc");

	/* groups to recompute: their keys (or, without GROUP BY, whether) */
	if (needs_recompute(shape))
	{
		int			k = 0;

		appendStringInfoString(&rkout, shape->scalar ? ", x.__pgt_rc" : "");

		/*
		 * One array of records, whatever the keys' types: an array key would
		 * make array_agg build a multidimensional array (failing on NULL or
		 * differently sized keys), and some types have no array type.
		 */
		if (!shape->scalar)
		{
			appendStringInfoString(&rkout, ", x.__pgt_r1");
			appendStringInfoString(&rkagg, "pg_catalog.array_agg(ROW(");
			foreach(lc, shape->key_columns)
				appendStringInfo(&rkagg, "%srk.%s", k++ > 0 ? ", " : "",
								 quote_identifier(lfirst(lc)));
			appendStringInfoString(&rkagg, ")) AS __pgt_r1");
		}
		if (shape->scalar)
			appendStringInfoString(&rkagg, "pg_catalog.bool_or(true) AS __pgt_rc");
	}

	return psprintf("WITH d AS (%s),"
					" g AS (SELECT %s FROM d%s%s),"
					" m AS (SELECT g.*, s.__pgt_ctid, s.__pgt_count AS __pgt_ocount%s,"
					"              (%s) AS __pgt_rc"
	/*
	 * the stored row of each group: at most one (keys are unique); probes
	 * of the __pgt_row_id index or one pass over the table, as the
	 * planner finds cheaper for the number of groups
	 */
					"         FROM g LEFT JOIN (SELECT s.*, s.ctid AS __pgt_ctid FROM %s s) s"
					"           ON %s%s),"
					" rk AS (SELECT m.__pgt_rc%s FROM m WHERE m.__pgt_rc),"
					" n AS (SELECT %s FROM m WHERE NOT m.__pgt_rc),"
					"%s"
					" SELECT (SELECT pg_catalog.count(*) FROM ins), (SELECT pg_catalog.count(*) FROM del),"
					"        (SELECT pg_catalog.count(*) FROM upd)%s"
					"   FROM (%s) x",
					DeltaQuerySql(st->pgt_id, input, pending),
					g.data, shape->scalar ? "" : " GROUP BY ",
					shape->scalar ? "" : group_by_keys(shape, "d."),
					m.data, rc.data,
					table, shape->scalar ? "true" : psprintf("s.__pgt_row_id = %s", row_id_of(shape, "g")),
					keymatch.data,
					rkcols.data,
					n.data,
					write_sql(st, shape),
					rkout.data,
					rkagg.len > 0 ? psprintf("SELECT %s FROM rk", rkagg.data) : "SELECT 1");
}

/*
 * The statement that recomputes the groups the delta statement could not
 * merge (a min/max that lost its extreme, any group under HAVING), from
 * the sources, given their keys as one array of records ($1, fields in
 * key column order); without GROUP BY, the one row, without parameters.
 * NULL when the shape never needs it.  Planned for each execution: with the keys
 * known, the planner sees exactly how many groups it reads, and reads
 * them through an index on the grouping columns when there is one, or in
 * one scan when that is cheaper.
 */
char *
DeltaRecomputeSql(const StreamTable *st, const DeltaShape *shape, List **argtypes)
{
	char	   *table = CatalogRelationName(st->relid);
	Query	   *input = DeltaInputQuery(shape);
	StringInfoData rk;
	StringInfoData ikeys;
	StringInfoData notnull;
	StringInfoData bmatch;
	StringInfoData smatch;
	StringInfoData rmatch;
	StringInfoData n;
	char	   *recompute;
	char	   *s_cte;
	ListCell   *lc;
	int			i = 0;

	*argtypes = NIL;
	if (!needs_recompute(shape))
		return NULL;
	if (!shape->scalar)
		*argtypes = list_make1_oid(RECORDARRAYOID);
	initStringInfo(&rk);
	initStringInfo(&ikeys);
	initStringInfo(&notnull);
	initStringInfo(&bmatch);
	initStringInfo(&smatch);
	initStringInfo(&rmatch);
	initStringInfo(&n);
	foreach(lc, shape->key_columns)
	{
		const char *col = quote_identifier(lfirst(lc));
		Var		   *var = storage_var(st->relid, lfirst(lc));

		i++;
		/* no typmod: the records carry the grouped expressions' own */
		appendStringInfo(&rk, "%s%s %s", i > 1 ? ", " : "", col,
						 format_type_be_qualified(var->vartype));
		if (OidIsValid(var->varcollid))
			appendStringInfo(&rk, " COLLATE %s", generate_collation_name(var->varcollid));
		appendStringInfo(&ikeys, "%si.__pgt_k%d", i > 1 ? ", " : "", i);
		appendStringInfo(&notnull, " AND rk.%s IS NOT NULL", col);
		appendStringInfo(&bmatch, " AND rk.%s IS NOT DISTINCT FROM i.__pgt_k%d", col, i);
		appendStringInfo(&smatch, " AND s.%s IS NOT DISTINCT FROM rk.%s", col, col);
		appendStringInfo(&rmatch, "%sr.%s IS NOT DISTINCT FROM s.%s", i > 1 ? " AND " : "", col, col);
		appendStringInfo(&n, "s.%s, ", col);
	}

	/*
	 * The groups without a NULL key through a semi-join with plain
	 * equality, which an index on the key serves; those with one (IS NOT
	 * DISTINCT FROM serves no index) in a branch that runs only when there
	 * are such groups.
	 */
	if (shape->scalar)
	{
		recompute = psprintf("SELECT %s FROM (%s) i", state_select(shape),
							 pg_get_querydef(input, false));
		s_cte = psprintf("SELECT (SELECT s.ctid FROM %s s LIMIT 1) AS __pgt_ctid", table);
	}
	else
	{
		recompute = psprintf("SELECT %s FROM (%s) i"
							 " WHERE (%s) IN (SELECT %s FROM rk WHERE true%s)"
							 " GROUP BY %s"
							 " UNION ALL "
							 "SELECT %s FROM (%s) i"
							 " WHERE (SELECT pg_catalog.bool_or(NOT (true%s)) FROM rk)"
							 "   AND EXISTS (SELECT 1 FROM rk WHERE NOT (true%s)%s)"
							 " GROUP BY %s",
							 state_select(shape), pg_get_querydef(input, false),
							 ikeys.data, list_join(shape->key_columns, "rk.", ", "), notnull.data,
							 group_by_keys(shape, "i."),
							 state_select(shape), pg_get_querydef(input, false),
							 notnull.data, notnull.data, bmatch.data,
							 group_by_keys(shape, "i."));
		s_cte = psprintf("SELECT rk.*, x.__pgt_ctid FROM rk LEFT JOIN LATERAL ("
						 "SELECT s.ctid AS __pgt_ctid FROM %s s"
						 " WHERE s.__pgt_row_id = %s%s LIMIT 1) x ON true",
						 table, row_id_of(shape, "rk"), smatch.data);
	}

	/* the new state of each group, named like the storage columns */
	appendStringInfo(&n, "%s AS __pgt_row_id", row_id_of(shape, "s"));
	foreach(lc, shape->hidden)
	{
		DeltaColumn *col = lfirst(lc);

		if (strcmp(col->name, "__pgt_row_id") == 0 ||
			strncmp(col->name, "__pgt_key", 9) == 0)
			continue;
		if (strcmp(col->name, "__pgt_count") == 0)
			appendStringInfoString(&n, ", coalesce(r.__pgt_count, 0)::pg_catalog.int8 AS __pgt_count");
		else
			appendStringInfo(&n, ", r.%s", col->name);
	}
	appendStringInfoString(&n, ", s.__pgt_ctid, false AS __pgt_rc");

	return psprintf("WITH rk AS (%s),"
					" r AS (%s),"
					" s AS (%s),"
					" n AS (SELECT %s FROM s LEFT JOIN r ON %s),"
					"%s"
					" SELECT (SELECT pg_catalog.count(*) FROM ins), (SELECT pg_catalog.count(*) FROM del),"
					"        (SELECT pg_catalog.count(*) FROM upd)",
					shape->scalar ? "SELECT true AS __pgt_rc" :
					psprintf("SELECT * FROM pg_catalog.unnest($1::pg_catalog.record[]) AS rk(%s)",
							 rk.data),
					recompute, s_cte,
					n.data, shape->scalar ? "true" : rmatch.data,
					write_sql(st, shape));
}

/*
 * Recomputation that writes only what differs.  Aggregate shape: the new
 * state of every group is computed from the sources, joined with the
 * stored rows by key, and a stored row is updated only when its values
 * are not binary-identical to the new ones, deleted when its group is
 * gone, and a new group inserted.  Projection shape: see below.  Readers
 * see the same as with a delete and reinsert, but unchanged rows cost no
 * write, and stream tables reading this one receive only what changed.
 */
char *
DeltaFullDiffSql(const StreamTable *st, const DeltaShape *shape)
{
	char	   *table = CatalogRelationName(st->relid);
	char	   *visible = list_join(shape->visible, "", ", ");
	StringInfoData keymatch;
	char	   *set;
	ListCell   *lc;

	/*
	 * Without aggregates the stream table is a multiset: the change from
	 * its stored rows to the query's rows is the query with multiplicity +1
	 * and the stored rows with -1, consolidated per row image like any
	 * delta; rows that are in both cancel and are not written.  The query
	 * as written, as DeltaFullSelectSql runs it.
	 */
	if (shape->kind == SHAPE_SPJ)
		return spj_apply_sql(st, shape,
							 psprintf("SELECT q.*, 1::pg_catalog.int8 FROM (%s) q"
									  " UNION ALL SELECT %s, -1::pg_catalog.int8 FROM %s s",
									  DependViewQuery(st->query_relid),
									  list_join(shape->visible, "s.", ", "), table));

	initStringInfo(&keymatch);
	foreach(lc, shape->key_columns)
		appendStringInfo(&keymatch, " AND c.%s IS NOT DISTINCT FROM n.%s",
						 quote_identifier(lfirst(lc)), quote_identifier(lfirst(lc)));
	set = update_set_sql(st, shape);

	return psprintf("WITH n AS (SELECT s.*, %s AS __pgt_row_id FROM ("
					"   SELECT %s FROM (%s) i %s%s) s),"
					" j AS (SELECT n.*, c.__pgt_ctid,"
					"              ROW(%s, %s)::pg_catalog.record OPERATOR(pg_catalog.*=)"
					"              ROW(%s, %s)::pg_catalog.record AS __pgt_same"
					"         FROM n LEFT JOIN (SELECT c.*, c.ctid AS __pgt_ctid FROM %s c) c"
					"           ON c.__pgt_row_id = n.__pgt_row_id%s"
					"        WHERE %s),"
					" del AS (DELETE FROM %s t WHERE NOT EXISTS"
					"          (SELECT 1 FROM j WHERE j.__pgt_ctid = t.ctid) RETURNING 1),"
					" upd AS (UPDATE %s t SET %s FROM j n"
					"          WHERE t.ctid = n.__pgt_ctid AND NOT coalesce(n.__pgt_same, false)"
					"            AND " AFTER("del") " RETURNING 1),"
					" ins AS (INSERT INTO %s (%s, %s) SELECT %s, %s FROM j n"
					"          WHERE n.__pgt_ctid IS NULL AND " AFTER("upd") " RETURNING 1)"
					" SELECT (SELECT pg_catalog.count(*) FROM ins), (SELECT pg_catalog.count(*) FROM del),"
					"        (SELECT pg_catalog.count(*) FROM upd)",
					row_id_of(shape, "s"),
					state_select(shape), full_input_sql(shape),
					shape->scalar ? "" : "GROUP BY ", shape->scalar ? "" : group_by_keys(shape, "i."),
					list_join(shape->visible, "c.", ", "), hidden_names(shape, "c.", ", "),
					visible_from_state(shape, st->relid), hidden_names(shape, "n.", ", "),
					table, keymatch.data,
					having_over_state(shape, st->relid),
					table,
					table, set,
					table, visible, hidden_names(shape, "", ", "),
					visible_from_state(shape, st->relid), hidden_names(shape, "n.", ", "));
}

/* The statement that applies the pending change of a stream table. */
char *
DeltaApplySql(const StreamTable *st, const DeltaShape *shape, List *pending)
{
	return shape->kind == SHAPE_SPJ ?
		spj_apply_sql(st, shape, DeltaQuerySql(st->pgt_id, shape->query, pending))
		: agg_apply_sql(st, shape, pending);
}
