/*-------------------------------------------------------------------------
 *
 * delta.h
 *	  The differential engine: shapes, delta SQL and apply SQL.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGT_DELTA_H
#define PGT_DELTA_H

#include "postgres.h"

#include "nodes/parsenodes.h"
#include "nodes/primnodes.h"

#include "catalog/pgt_catalog.h"
#include "lib/stringinfo.h"

/* How the result of a defining query is kept in its storage table. */
typedef enum DeltaShapeKind
{
	SHAPE_SPJ,					/* rows, identity = whole row */
	SHAPE_AGGREGATE				/* groups, identity = group key */
} DeltaShapeKind;

typedef enum DeltaAggKind
{
	AGG_COUNT_STAR,
	AGG_COUNT,
	AGG_SUM,
	AGG_AVG,
	AGG_MIN,
	AGG_MAX,
	/* moreagg.c */
	AGG_BOOL_AND,				/* bool_and, every: counts of true, non-NULL */
	AGG_BOOL_OR,				/* bool_or: the same counts */
	AGG_VAR_SAMP,				/* var_samp, variance over integers: n, sums */
	AGG_VAR_POP,				/* var_pop over integers: the same */
	AGG_RECOMPUTE				/* any other: the touched groups recomputed */
} DeltaAggKind;

/* One aggregate of an aggregate shape and its state columns. */
typedef struct DeltaAgg
{
	DeltaAggKind kind;
	Aggref	   *aggref;
	Oid			argtype;
	Oid			restype;		/* the aggregate's result type */
	int32		restypmod;
	Oid			rescollation;
} DeltaAgg;

/* A hidden column the storage table needs. */
typedef struct DeltaColumn
{
	char	   *name;
	Oid			type;
	int32		typmod;
	Oid			collation;
} DeltaColumn;

typedef struct DeltaShape
{
	DeltaShapeKind kind;
	Query	   *query;			/* analysed defining query (CTEs inlined) */
	List	   *visible;		/* visible column names (char *) */
	List	   *hidden;			/* DeltaColumn * the storage table needs */
	/* SHAPE_AGGREGATE */
	List	   *group_exprs;	/* Expr * */
	List	   *key_columns;	/* storage column of each group expr */
	List	   *aggs;			/* DeltaAgg * */
	bool		scalar;			/* aggregates without GROUP BY: one row */
	bool		has_having;
	bool		has_minmax;
	bool		has_nonfinite;	/* a sum/avg whose input can be NaN/Infinity */
	bool		has_recompute;	/* an aggregate recomputed per touched group */

	/*
	 * SHAPE_AGGREGATE: the same shape over the defining query as written
	 * (views expanded, sublinks not rewritten), its group_exprs and the
	 * aggrefs of its aggs taken from that query; what a recomputation of
	 * every group reads.  NULL when that query's group keys and aggregates
	 * do not correspond one to one with the shape's (shape.c), and for
	 * SHAPE_SPJ (a projection's recomputation runs the view's text).
	 */
	struct DeltaShape *written;
} DeltaShape;

/* shape.c */
extern Query *DeltaParseQuery(const char *sql);
extern Query *DeltaParseUserQuery(const char *sql);
extern bool DeltaSupported(Query *query, char **reason);
extern DeltaShape *DeltaBuildShape(const char *sql, char **reason);
extern void DeltaPrepareStorage(const StreamTable *st, const DeltaShape *shape);
extern void DeltaDropStorage(const StreamTable *st);

/* rewrite.c */
extern char *DeltaQuerySql(int64 pgt_id, Query *query, List *pending);
extern char *DeltaStatementTooLarge(const DeltaShape *shape);

/* rewrite.c, for the operator rules of the engine (outerjoin.c) */
typedef struct DeltaContext
{
	int64		pgt_id;
	List	   *pending;		/* CapturePending *, or NIL when unknown */
	List	   *once;			/* SQL evaluated once per statement (once.c) */
} DeltaContext;

/* Which version of a FROM item a term reads. */
typedef enum ItemVersion
{
	V_NEW,						/* as it is now, multiplicity 1 */
	V_DELTA,					/* its pending change */
	V_NEG_DELTA,				/* its pending change, multiplicity negated */
	V_OLD						/* NEW UNION ALL NEG_DELTA, in one subquery */
} ItemVersion;

extern char *DeltaSql(DeltaContext *ctx, Query *q);
extern char *DeltaSourceDeltaSql(DeltaContext *ctx, Oid relid);
extern char *DeltaRelationColumns(Oid relid, const char *alias);
extern char *DeltaVersionSql(DeltaContext *ctx, RangeTblEntry *rte, ItemVersion version);
extern char *DeltaTermSql(Query *t, Expr *mult);
extern void DeltaMakeSubqueryRte(RangeTblEntry *rte, Query *sub);
extern void DeltaReplaceWithSubquery(RangeTblEntry *rte, const char *sql);
extern void DeltaJoinTreeItems(Node *node, List **items);
extern bool DeltaItemChanges(RangeTblEntry *rte);
extern bool DeltaItemPending(DeltaContext *ctx, RangeTblEntry *rte);
extern Expr *DeltaInt8Product(Expr *left, Expr *right);

/* levelvars.c */
extern int	DeltaVarPosition(List *vars, Var *var);
extern List *DeltaCollectLevelVars(Node *node, int level, int ignore_varno,
								   List *vars);

/* once.c */
extern bool DeltaReadsUpperLevel(Node *node, int depth, bool sublink_params);
extern char *DeltaOnceSql(DeltaContext *ctx, const char *sql);
extern char *DeltaOnceHoist(DeltaContext *ctx, const char *sql);

/* setop.c */
extern Query *DeltaSetOpQuery(Query *q);
extern bool DeltaSetOpCounts(Query *q);
extern char *DeltaSetOpCountSql(DeltaContext *ctx, Query *q);

/* outerjoin.c */
extern bool DeltaHasOuterJoin(Query *q);
extern bool DeltaIsOuterJoinItem(Query *q);
extern Query *DeltaNormalizeOuterJoins(Query *q);
extern char *DeltaOuterJoinSql(DeltaContext *ctx, Query *q);
extern Query *DeltaInputQuery(const DeltaShape *shape);
extern char *DeltaPositionalNames(int n);
extern void DeltaRebuildJoin(Query *q, JoinExpr *j);
extern void DeltaNullExtendedTerms(DeltaContext *ctx, Query *s, int k, int n,
								   bool kchanged, bool nchanged, StringInfo out);

/* semijoin.c */
extern const char *DeltaSemiJoinRefusal(Query *q);
extern bool DeltaHasSemiJoin(Query *q);
extern bool DeltaIsSemiJoinCondition(Node *cond);
extern char *DeltaSemiJoinSql(DeltaContext *ctx, Query *q);

/* grouped.c */
extern bool DeltaIsGrouped(Query *q);
extern const char *DeltaGroupedRefusal(Query *q);
extern char *DeltaGroupedSql(DeltaContext *ctx, Query *q);
extern void DeltaGroupedDescribe(Query *q, StringInfo out);
extern void DeltaGroupedAddKeyHint(Query *sub, Query *keys);
extern bool DeltaHasKeyHintText(Query *q);

/* groupprobe.c */
extern bool DeltaGroupedRestrict(Query *sub, int varno, Node *quals,
								 Bitmapset *visible);
extern void DeltaGroupedProbeTerm(Query *t, List *items,
								  const ItemVersion *versions);

/* scalar.c */
extern bool DeltaSublinksRewritable(Query *q);
extern Query *DeltaScalarRewrite(Query *q, char **reason);
extern char *DeltaSubqueryMaintenance(const char *sql);
extern bool DeltaScalarCorrelation(Node *cond);

/* sublink.c */
extern Query *DeltaSublinkRewrite(Query *q, StringInfo notes);

/* onqual.c */
extern Query *DeltaOnQualRewrite(Query *q);

/* outerjoin.c: the type of a column of a relation or subquery FROM item */
extern void DeltaItemColumnType(RangeTblEntry *rte, int attno, Oid *type,
								int32 *typmod, Oid *coll);

/* moreagg.c */
extern bool DeltaClassifyMoreAgg(DeltaAgg *agg, const char *name, char **reason);
extern bool DeltaMoreAggHidden(DeltaShape *shape, DeltaAgg *agg, int i);
extern List *DeltaMoreAggInput(DeltaAgg *agg, int i, List *tlist, int *resno);
extern bool DeltaMoreAggState(DeltaAgg *agg, int i, StringInfo buf);
extern bool DeltaMoreAggMerge(DeltaAgg *agg, int i, const char *f, const char *a,
							  StringInfo g, StringInfo m, StringInfo rc, StringInfo n);
extern bool DeltaJsonAggSafe(Aggref *aggref, char **reason);
extern char *DeltaAggMaintenance(const DeltaShape *shape);

/* views.c */
extern Query *DeltaExpandViews(Query *q, char **reason);
extern void DeltaViewsKey(Oid query_relid, StringInfo key);

/* apply.c */
extern char *DeltaApplySql(const StreamTable *st, const DeltaShape *shape,
						   List *pending);
extern char *DeltaRecomputeSql(const StreamTable *st, const DeltaShape *shape,
							   List **argtypes);
extern char *DeltaFullSelectSql(const StreamTable *st, const DeltaShape *shape,
								char **target);
extern char *DeltaFullSql(const StreamTable *st, const DeltaShape *shape);
extern char *DeltaFullDiffSql(const StreamTable *st, const DeltaShape *shape);

#endif							/* PGT_DELTA_H */
