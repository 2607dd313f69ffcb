/*-------------------------------------------------------------------------
 *
 * capture.h
 *	  Change capture: buffers, capture triggers, snapshot frontiers and
 *	  pruning for the sources of DIFFERENTIAL stream tables.
 *
 * The functions in the first part are what the rest of pg_trickle calls;
 * the second part is shared by the files of this folder only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGT_CAPTURE_H
#define PGT_CAPTURE_H

#include "postgres.h"

#include "access/attnum.h"
#include "nodes/nodes.h"
#include "nodes/pg_list.h"
#include "storage/lockdefs.h"
#include "utils/snapshot.h"

/*
 * Make every base source (pgt_dependencies.source_type 'TABLE' or
 * 'STREAM_TABLE') of DIFFERENTIAL stream table pgt_id captured: its buffer
 * exists with the needed columns, its four triggers exist, and the stream
 * table's owner may read the buffer.  Idempotent and cheap when nothing is
 * missing; call again after a query change, a switch to DIFFERENTIAL or a
 * change of the stream table's owner.  Does nothing for a stream table whose
 * mode in effect is not DIFFERENTIAL.
 *
 * When a source starts being captured, or gains columns a consumer needs,
 * the frontiers of the consumers concerned are reset to NULL: their next
 * refresh must be a full one (CapturePendingChanges says so).  Must run in
 * the transaction of, and before the snapshot of, the stream table's first
 * refresh; refuses (0A000) in REPEATABLE READ or SERIALIZABLE when the
 * stream table has no frontier yet, as that snapshot predates its locks.
 * A partitioned table or inheritance parent is captured with every
 * partition or child below it, into its own buffer (inherit.c); partitions
 * and children on their own, foreign tables and materialized views are
 * refused (0A000).
 */
extern void CaptureAttach(int64 pgt_id);
extern void CaptureResetFrontiers(int64 pgt_id);

/*
 * With drop, drop the buffers (and with them the triggers) of sources no
 * DIFFERENTIAL stream table reads any more (a buffer of a dropped source
 * goes with the source already); make each remaining buffer readable by
 * exactly the owners of its consumers (after a drop or an ALTER ...
 * OWNER); forget the frontiers of stream tables that are not DIFFERENTIAL.
 * One catalog query when there is nothing to do: meant for the sql_drop
 * event trigger, drop and mode changes (drop), and the ddl_command_end one
 * (not drop: a restore creates buffers, and alters their owner, before it
 * brings the catalog rows that name their readers).
 */
extern void CaptureDetachUnused(bool drop);
extern void CaptureDiscardStaleBuffer(Oid source_relid);
extern void CaptureProtect(Oid source_relid);

/*
 * After a refresh of pgt_id that read its sources at snapshot, in the same
 * transaction: record the frontier of each of its captured sources.  For a
 * stream table that is not DIFFERENTIAL the frontiers are reset to NULL
 * instead.  Nothing may write to its sources between the snapshot and this
 * call in this transaction (such rows would count as consumed).
 */
extern void CaptureAdvanceFrontiers(int64 pgt_id, Snapshot snapshot);

/*
 * Pending changes of pgt_id at snapshot, one entry per captured source
 * (changes.c).  Each source's pending buffer rows are read once and netted
 * by the binary image of the columns the query reads; the netted rows stay
 * in memory for the delta statement (pgtrickle._changes) until
 * CaptureForgetChanges or the end of the transaction.  rows counts netted
 * change rows (the sum of their multiplicities' magnitudes); truncated is
 * true when a TRUNCATE is pending or when the stream table has no frontier
 * for the source yet (never refreshed since capture started): either way
 * its next refresh must be a full one.  source_rows_estimate is the
 * planner's row estimate of the source.  With max_rows >= 0, a source
 * whose pending rows (before netting) exceed what is left of max_rows is
 * not netted, nor read further than the first row beyond the limit:
 * over_limit is set and rows is the number read (a lower bound), and the
 * refresh is meant to recompute instead.
 */
typedef struct CapturePending
{
	Oid			source_relid;
	int64		rows;
	bool		truncated;
	bool		unread;			/* no frontier: capture (re)started since the
								 * last refresh (truncated is set too) */
	bool		lost;			/* pending changes were discarded when the
								 * buffer exceeded pg_trickle.max_buffer_rows
								 * (truncated is set too) */
	bool		over_limit;
	int64		source_rows_estimate;
} CapturePending;

extern List *CapturePendingChanges(int64 pgt_id, Snapshot snapshot,
								   double max_rows);
extern void CaptureForgetChanges(void);

/*
 * Text of a subquery (no trailing semicolon) returning the netted pending
 * change of one source for one stream table, as read by the last
 * CapturePendingChanges: one output column per attribute of the source, in
 * attnum order (the value of a column the query reads, a typed NULL for
 * the others, NULL::int4 "__pgt_dropped_<attnum>" for a dropped
 * attribute), then __pgt_m bigint, the row's net multiplicity.  Constant
 * for a given source layout and query; it does not name the buffer.
 * Columns of a domain type come out with the domain's base type.
 */
extern char *CaptureDeltaSubquery(int64 pgt_id, Oid source_relid);

/*
 * After a refresh of pgt_id: delete buffer rows of its sources that every
 * DIFFERENTIAL consumer has consumed.  With pg_trickle.max_buffer_rows
 * set, a buffer still holding more rows than that afterwards has its
 * lagging consumers released (their pending changes are given up, their
 * next refresh is a full one) until it does not; see README.md.  Does nothing in REPEATABLE READ or
 * SERIALIZABLE (its snapshot could miss a consumer that committed since),
 * nor for a source whose consumers are being changed or pruned by another
 * transaction: a later prune catches up.
 */
extern void CapturePrune(int64 pgt_id);
extern uint64 CaptureReadOldest(int64 pgt_id, Oid source_relid);
extern void CaptureEnforceBufferLimits(void);
extern List *CaptureCapturedSources(void);
extern List *CaptureSources(int64 pgt_id);

/*
 * Why changes of relation relid cannot be captured (a partitioned table, a
 * partition, a foreign table, ...), as a sentence for errmsg, or NULL when
 * they can.  For the analysis: AUTO falls back to FULL for such a source.
 */
extern const char *CaptureUnsupportedReason(Oid relid);

/* ---- shared by buffer.c, trigger.c and frontier.c ---- */

#define CAPTURE_SCHEMA "pgtrickle_changes"
#define CAPTURE_SEQUENCE "change_seq"
/* the BRIN index on a buffer's writers: this prefix and the source's OID */
#define CAPTURE_XID_INDEX_PREFIX "changes_xid_"
/* the indexed value of a writer's xid8, as SQL over a buffer alias */
#define CAPTURE_XID_KEY(alias) "((" alias ".__pgt_xid::pg_catalog.text)::pg_catalog.int8)"

/* What a capture trigger fires on. */
typedef enum CaptureEvent
{
	CAPTURE_INSERT,
	CAPTURE_UPDATE,
	CAPTURE_DELETE,
	CAPTURE_TRUNCATE,
	CAPTURE_NEVENTS
} CaptureEvent;

/*
 * The capture triggers of a source (trigger.c): statement-level ones for
 * ordinary sessions, row-level ones for session_replication_role = replica
 * (logical replication's apply workers), one TRUNCATE trigger for both.
 */
typedef struct CaptureTriggerSpec
{
	const char *name;
	CaptureEvent event;
	bool		row;			/* FOR EACH ROW, else FOR EACH STATEMENT */
	char		enabled;		/* pg_trigger.tgenabled it must have */
} CaptureTriggerSpec;

#define CAPTURE_NTRIGGERS 7
extern const CaptureTriggerSpec CaptureTriggers[CAPTURE_NTRIGGERS];

/* buffer.c */
extern int	CaptureExecute(const char *sql, int nargs, Oid *argtypes,
						   Datum *values, Snapshot snapshot, bool read_only);
extern int	CaptureExecuteLimited(const char *sql, int nargs, Oid *argtypes,
								  Datum *values, Snapshot snapshot,
								  bool read_only, long tcount, bool custom);
extern char *CaptureBufferName(Oid source_relid);
extern Oid	CaptureBufferRelid(Oid source_relid);
extern AttrNumber *CaptureColumnMap(Oid buffer_relid, Oid source_relid,
									int source_natts);
extern bool CaptureLockConsumers(Oid source_relid, LOCKMODE mode, bool wait);

/* frontier.c */
extern char *CaptureFrontierCte(int64 pgt_id, Oid source_relid,
								const char *alias);
extern char *CapturePendingCondition(const char *b, const char *f);

/* trigger.c */
extern bool CaptureTriggersPresent(Oid source_relid, const char *buffer_name);
extern void CaptureInstallTriggers(Oid source_relid, Oid buffer_relid);

/* inherit.c: partitioned tables and inheritance parents as sources */
extern Oid	CaptureRootOf(Oid relid);
extern bool CaptureHasDescendants(Oid relid);
extern const char *CaptureTreeUnsupportedReason(Oid root);
extern bool CaptureDescendantsReady(Oid root);
extern void CaptureInstallDescendants(Oid root, Oid buffer_relid);
extern double CaptureEstimateRows(Oid relid);
extern void CaptureSyncTrees(void);
extern bool CaptureTreeDDL(Node *stmt);
extern void CaptureBeforeDrop(Node *stmt);

#endif							/* PGT_CAPTURE_H */
