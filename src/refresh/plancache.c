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
 * now, the attribute layouts of the storage table and the sources, the
 * bound on each source's change set).  A key that no longer matches
 * replaces the entry; the plan itself is revalidated by PostgreSQL's plan
 * cache when a relation it reads changes.  The statements read change sets
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

/* The kept plan of this stream table's statement kind and key, or NULL. */
SPIPlanPtr
PlanCacheLookup(int64 pgt_id, int kind, const char *key)
{
	PlanCacheEntry *entry = cache_entry(pgt_id, kind, HASH_FIND, NULL);

	if (entry == NULL || strcmp(entry->key, key) != 0)
		return NULL;
	return entry->plan;
}

/* Keep a prepared statement, replacing an older one of the same kind. */
SPIPlanPtr
PlanCacheStore(int64 pgt_id, int kind, const char *key, SPIPlanPtr plan)
{
	bool		found;
	PlanCacheEntry *entry = cache_entry(pgt_id, kind, HASH_ENTER, &found);

	if (found)
	{
		SPI_freeplan(entry->plan);
		pfree(entry->key);
	}
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "could not keep refresh plan");
	entry->plan = plan;
	entry->key = MemoryContextStrdup(TopMemoryContext, key);
	return plan;
}
