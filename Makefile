# pg_trickle — PGXS build.  See README.md for the two commands most people need.

EXTENSION = pg_trickle
MODULE_big = pg_trickle
DATA = sql/pg_trickle--0.1.0.sql sql/pg_trickle--0.2.0.sql sql/pg_trickle--0.1.0--0.2.0.sql
PGFILEDESC = "pg_trickle - stream tables"

OBJS = \
	src/pg_trickle.o \
	src/guc.o \
	src/api/names.o \
	src/api/create.o \
	src/api/alter.o \
	src/api/drop.o \
	src/api/refresh.o \
	src/api/inspect.o \
	src/capture/buffer.o \
	src/capture/changes.o \
	src/capture/frontier.o \
	src/capture/trigger.o \
	src/catalog/catalog.o \
	src/catalog/depend.o \
	src/catalog/events.o \
	src/catalog/health.o \
	src/delta/analyze.o \
	src/delta/apply.o \
	src/delta/outerjoin.o \
	src/delta/rewrite.o \
	src/delta/shape.o \
	src/refresh/differential.o \
	src/refresh/executor.o \
	src/refresh/full.o \
	src/refresh/guard.o \
	src/refresh/plancache.o \
	src/refresh/sandbox.o \
	src/refresh/unlogged.o \
	src/scheduler/dbguard.o \
	src/scheduler/idle.o \
	src/scheduler/job.o \
	src/scheduler/launcher.o \
	src/scheduler/refresher.o \
	src/scheduler/schedule.o \
	src/scheduler/scheduler.o \
	src/scheduler/shmem.o

# The server headers are included as system headers so that -Wextra applies
# to our code only (PostgreSQL's inline functions have unused parameters).
# The library knows the version of the SQL objects it was built with
# (pg_trickle.control's default_version): after a package upgrade it refuses
# to work on an older catalog until ALTER EXTENSION pg_trickle UPDATE.
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(srcdir)/pg_trickle.control)
PG_CPPFLAGS = -I$(srcdir)/src -isystem $(shell $(PG_CONFIG) --includedir-server) \
	-DPGT_EXTVERSION='"$(EXTVERSION)"'
PG_CFLAGS = -Wall -Wextra -Werror

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS does not track header dependencies (unless the server was configured
# with --enable-depend): rebuild every object when one of our headers
# changes, so that no object keeps an old layout of a shared-memory struct.
$(OBJS): $(wildcard $(srcdir)/src/*.h $(srcdir)/src/*/*.h)

# the version compiled in (PGT_EXTVERSION) comes from the control file
src/catalog/catalog.o: $(srcdir)/pg_trickle.control
