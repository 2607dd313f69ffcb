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
	src/capture/inherit.o \
	src/capture/trigger.o \
	src/catalog/catalog.o \
	src/catalog/depend.o \
	src/catalog/events.o \
	src/catalog/health.o \
	src/catalog/restore.o \
	src/catalog/viewsource.o \
	src/delta/analyze.o \
	src/delta/apply.o \
	src/delta/grouped.o \
	src/delta/levelvars.o \
	src/delta/groupprobe.o \
	src/delta/moreagg.o \
	src/delta/once.o \
	src/delta/onqual.o \
	src/delta/outerjoin.o \
	src/delta/rewrite.o \
	src/delta/scalar.o \
	src/delta/semijoin.o \
	src/delta/setop.o \
	src/delta/sublink.o \
	src/delta/shape.o \
	src/delta/views.o \
	src/refresh/cost.o \
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

# make installcheck (PGXN's "pgxn installcheck", Debian's autopkgtest) runs
# the regression tests of test/ in a temporary server of its own that
# preloads the library (test/pg_trickle.conf): the scheduler and change
# capture need shared_preload_libraries, which a running server rarely has.
# It must not run as root (initdb refuses).  PGT_INSTALLCHECK=server runs them
# against the server of PGHOST/PGPORT instead, which must preload pg_trickle
# (packaging/debian/tests uses that under pg_virtualenv).
REGRESS = $(sort $(basename $(notdir $(wildcard $(srcdir)/test/sql/*.sql))))
REGRESS_OPTS = --inputdir=$(srcdir)/test --no-locale --encoding=UTF8
ifneq ($(PGT_INSTALLCHECK),server)
REGRESS_OPTS += --temp-instance=$(CURDIR)/tmp_check \
	--temp-config=$(srcdir)/test/pg_trickle.conf
endif

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Out-of-tree (VPATH) builds: make -f SRCDIR/Makefile VPATH=SRCDIR in an empty
# directory, as pg_buildext does.  PGXS compiles src/api/names.c into
# src/api/names.o under the build directory, whose subfolders must exist
# first; make cannot create them by a rule, because VPATH would find the
# source folders of the same name and call them up to date.
ifdef VPATH
$(shell $(MKDIR_P) $(sort $(dir $(OBJS))))
endif

# PGXS does not track header dependencies (unless the server was configured
# with --enable-depend): rebuild every object when one of our headers
# changes, so that no object keeps an old layout of a shared-memory struct.
$(OBJS): $(wildcard $(srcdir)/src/*.h $(srcdir)/src/*/*.h)

# the version compiled in (PGT_EXTVERSION) comes from the control file
src/catalog/catalog.o: $(srcdir)/pg_trickle.control

# make dist: the source archive every package is built from (packaging/),
# pg_trickle-VERSION.tar.gz and .zip (the PGXN distribution), made by
# git archive from the commit checked out (HEAD; DIST_REF= another), so
# that it holds exactly the committed files; into DISTDIR (default: here).
DIST_REF ?= HEAD
DISTDIR ?= $(CURDIR)
DIST_NAME = $(EXTENSION)-$(EXTVERSION)
.PHONY: dist
dist:
	git -C $(srcdir) archive --format=tar.gz --prefix=$(DIST_NAME)/ \
		-o $(abspath $(DISTDIR))/$(DIST_NAME).tar.gz $(DIST_REF)
	git -C $(srcdir) archive --format=zip --prefix=$(DIST_NAME)/ \
		-o $(abspath $(DISTDIR))/$(DIST_NAME).zip $(DIST_REF)
