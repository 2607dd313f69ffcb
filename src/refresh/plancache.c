/*-------------------------------------------------------------------------
 *
 * plancache.c
 *	  Prepared statements of differential refreshes, kept per stream table
 *	  in each backend.
 *
 * Building a delta statement parses, rewrites and deparses the defining
 * query, and planning it costs more than a small delta takes to apply, so
 * the plan is kept (SPI_keepplan) under a key made of everything the
 * statement is built from (differential.c: the defining query as deparsed
 * now, the attribute layouts of the storage table and the sources),
 * together with the size of each source's change set it was planned for
 * (an empty change set leaves its branch out of the statement, so it only
 * matches an empty one).  A lookup finds the plan when the key is equal
 * and every change set is within a factor PLAN_SIZE_SPREAD of the size the
 * plan was made for (src/refresh/README.md, "Plan cache"); otherwise the
 * caller builds and stores a new one, which replaces the entry.  The plan
 * itself is revalidated by PostgreSQL's plan cache when a relation it
 * reads changes.  The statements read change sets
 * through pgtrickle._changes, not the buffers, so nothing about a buffer
 * (VACUUM, ANALYZE) touches them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "refresh/refresh.h"

typedef struct PlanCacheKey
{
	int64		pgt_id;
	int			kind;			/* which statement of the refresh */
} PlanCacheKey;

typedef struct PlanCacheEntry
{
	PlanCacheKey id;			/* hash key */
	char	   *key;			/* in TopMemoryContext */
	int			nsizes;
	int64	   *sizes;			/* change set sizes planned for, or NULL */
	SPIPlanPtr	plan;			/* kept */
} PlanCacheEntry;

static HTAB *plan_cache = NULL;

static PlanCacheEntry *
cache_entry(int64 pgt_id, int kind, HASHACTION action, bool *found)
{
	PlanCacheKey id;

	if (plan_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(PlanCacheKey);
		ctl.entrysize = sizeof(PlanCacheEntry);
		plan_cache = hash_create("pg_trickle refresh plans", 64, &ctl,
								 HASH_ELEM | HASH_BLOBS);
	}
	memset(&id, 0, sizeof(id));
	id.pgt_id = pgt_id;
	id.kind = kind;
	return hash_search(plan_cache, &id, action, found);
}

/*
 * Whether a change set of size now is served by a plan made for one of
 * size planned: both empty, or both non-empty and neither more than
 * PLAN_SIZE_SPREAD times the other.
 */
static bool
size_close(int64 planned, int64 now)
{
	if (planned == 0 || now == 0)
		return planned == now;
	return Max(planned, now) <= Min(planned, now) * PLAN_SIZE_SPREAD;
}

/*
 * The kept plan of this stream table's statement kind and key, made for
 * change sets close to sizes (nsizes of them; none for a statement whose
 * plan does not depend on them), or NULL.
 */
SPIPlanPtr
PlanCacheLookup(int64 pgt_id, int kind, const char *key,
				const int64 *sizes, int nsizes)
{
	PlanCacheEntry *entry = cache_entry(pgt_id, kind, HASH_FIND, NULL);

	if (entry == NULL || strcmp(entry->key, key) != 0 ||
		entry->nsizes != nsizes)
		return NULL;
	for (int i = 0; i < nsizes; i++)
		if (!size_close(entry->sizes[i], sizes[i]))
			return NULL;
	return entry->plan;
}

/*
 * Keep a prepared statement made for change sets of these sizes, replacing
 * an older one of the same kind.
 */
SPIPlanPtr
PlanCacheStore(int64 pgt_id, int kind, const char *key,
			   const int64 *sizes, int nsizes, SPIPlanPtr plan)
{
	bool		found;
	PlanCacheEntry *entry = cache_entry(pgt_id, kind, HASH_ENTER, &found);

	if (found)
	{
		SPI_freeplan(entry->plan);
		pfree(entry->key);
		if (entry->sizes != NULL)
			pfree(entry->sizes);
	}
	entry->plan = NULL;
	entry->key = NULL;
	entry->sizes = NULL;
	entry->nsizes = 0;
	if (SPI_keepplan(plan) != 0)
	{
		hash_search(plan_cache, &entry->id, HASH_REMOVE, NULL);
		elog(ERROR, "could not keep refresh plan");
	}
	entry->key = MemoryContextStrdup(TopMemoryContext, key);
	if (nsizes > 0)
	{
		entry->sizes = MemoryContextAlloc(TopMemoryContext, sizeof(int64) * nsizes);
		memcpy(entry->sizes, sizes, sizeof(int64) * nsizes);
	}
	entry->nsizes = nsizes;
	entry->plan = plan;
	return plan;
}
