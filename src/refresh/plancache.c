/*-------------------------------------------------------------------------
 *
 * plancache.c
 *	  Prepared delta statements, kept per stream table in each backend.
 *
 * Building a delta statement parses, rewrites and deparses the defining
 * query, and planning it costs more than a small delta takes to apply, so
 * the plan is kept (SPI_keepplan) under a key made of everything the
 * statement depends on: the defining query as deparsed now (it changes with
 * renames and query changes), the defining view and storage table, and the
 * bound on each source's pending rows (see rewrite.c).  A relcache
 * invalidation of a source, buffer or storage table drops the entry; the
 * plan itself is also revalidated by PostgreSQL's plan cache.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
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
	Oid		   *relids;			/* relations whose change drops the entry */
	int			nrelids;
	bool		valid;
} PlanCacheEntry;

static HTAB *plan_cache = NULL;

static void
forget(PlanCacheEntry *entry)
{
	entry->valid = false;
}

static void
relcache_callback(Datum arg pg_attribute_unused(), Oid relid)
{
	HASH_SEQ_STATUS status;
	PlanCacheEntry *entry;

	if (plan_cache == NULL)
		return;
	hash_seq_init(&status, plan_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (!OidIsValid(relid))
			forget(entry);
		else
			for (int i = 0; i < entry->nrelids; i++)
				if (entry->relids[i] == relid)
					forget(entry);
	}
}

static void
ensure_cache(void)
{
	HASHCTL		ctl;

	if (plan_cache != NULL)
		return;
	ctl.keysize = sizeof(PlanCacheKey);
	ctl.entrysize = sizeof(PlanCacheEntry);
	plan_cache = hash_create("pg_trickle delta plans", 64, &ctl,
							 HASH_ELEM | HASH_BLOBS);
	CacheRegisterRelcacheCallback(relcache_callback, (Datum) 0);
}

/* The kept plan for this stream table and key, or NULL. */
SPIPlanPtr
PlanCacheLookup(int64 pgt_id, int kind, const char *key)
{
	PlanCacheEntry *entry;
	PlanCacheKey id;

	memset(&id, 0, sizeof(id));
	id.pgt_id = pgt_id;
	id.kind = kind;
	ensure_cache();
	entry = hash_search(plan_cache, &id, HASH_FIND, NULL);
	if (entry == NULL || !entry->valid || strcmp(entry->key, key) != 0)
		return NULL;
	return entry->plan;
}

/*
 * Keep a prepared statement for this stream table, replacing an older one.
 */
SPIPlanPtr
PlanCacheStore(int64 pgt_id, int kind, const char *key, SPIPlanPtr plan,
			   const Oid *relids, int nrelids)
{
	PlanCacheEntry *entry;
	PlanCacheKey id;
	bool		found;

	memset(&id, 0, sizeof(id));
	id.pgt_id = pgt_id;
	id.kind = kind;
	ensure_cache();
	entry = hash_search(plan_cache, &id, HASH_ENTER, &found);
	if (found)
	{
		if (entry->plan != NULL)
			SPI_freeplan(entry->plan);
		pfree(entry->key);
		pfree(entry->relids);
	}
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "could not keep delta plan");
	entry->plan = plan;
	entry->key = MemoryContextStrdup(TopMemoryContext, key);
	entry->relids = MemoryContextAlloc(TopMemoryContext, sizeof(Oid) * Max(nrelids, 1));
	if (nrelids > 0)
		memcpy(entry->relids, relids, sizeof(Oid) * nrelids);
	entry->nrelids = nrelids;
	entry->valid = true;
	return plan;
}
