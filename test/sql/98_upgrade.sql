-- The update script sql/pg_trickle--0.1.0--0.2.0.sql is complete: after
-- ALTER EXTENSION pg_trickle UPDATE from 0.1.0 the extension has exactly the
-- objects of a fresh 0.2.0 install (definitions, comments, rights, what
-- pg_dump keeps).  Its own database.  Stream tables living through the
-- update (built with the 0.1.0 library) are t/014_extension_upgrade.pl.
\pset format unaligned
\set regress_db :DBNAME
CREATE DATABASE pgt_upgrade;
\c pgt_upgrade
SET client_min_messages = warning;
CREATE EXTENSION pg_trickle;

-- every object of the extension, described (definitions, comments, rights)
CREATE FUNCTION describe_pg_trickle() RETURNS SETOF text LANGUAGE sql AS $$
	SELECT 'member ' || pg_describe_object(d.classid, d.objid, 0)
	  FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
	 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
	   AND e.extname = 'pg_trickle'
	UNION ALL
	SELECT 'function ' || pg_get_functiondef(p.oid) || ' acl=' || coalesce(p.proacl::text, '')
		   || ' comment=' || coalesce(obj_description(p.oid, 'pg_proc'), '')
	  FROM pg_proc p WHERE p.pronamespace = 'pgtrickle'::regnamespace
	UNION ALL
	SELECT format('relation %s kind=%s persistence=%s acl=%s comment=%s view=%s', c.oid::regclass,
				  c.relkind, c.relpersistence, coalesce(c.relacl::text, ''),
				  coalesce(obj_description(c.oid, 'pg_class'), ''),
				  CASE WHEN c.relkind = 'v' THEN pg_get_viewdef(c.oid) END)
	  FROM pg_class c
	 WHERE c.relnamespace IN ('pgtrickle'::regnamespace, 'pgtrickle_changes'::regnamespace,
							  'pgtrickle_defs'::regnamespace)
	   AND c.relkind IN ('r', 'v', 'S')
	UNION ALL
	SELECT format('column %s.%I %s notnull=%s default=%s comment=%s', c.oid::regclass, a.attname,
				  format_type(a.atttypid, a.atttypmod), a.attnotnull,
				  coalesce(pg_get_expr(ad.adbin, ad.adrelid), ''),
				  coalesce(col_description(c.oid, a.attnum), ''))
	  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
	  LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
	 WHERE c.relnamespace = 'pgtrickle'::regnamespace AND c.relkind IN ('r', 'v')
	   AND a.attnum > 0 AND NOT a.attisdropped
	UNION ALL
	SELECT 'index ' || pg_get_indexdef(i.indexrelid)
	  FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
	 WHERE c.relnamespace = 'pgtrickle'::regnamespace
	UNION ALL
	SELECT format('constraint %s %s', c.conrelid::regclass, pg_get_constraintdef(c.oid))
	  FROM pg_constraint c WHERE c.connamespace = 'pgtrickle'::regnamespace
	UNION ALL
	SELECT format('event trigger %s on %s tags %s function %s enabled %s comment=%s', t.evtname,
				  t.evtevent, t.evttags, t.evtfoid::regprocedure, t.evtenabled,
				  coalesce(obj_description(t.oid, 'pg_event_trigger'), ''))
	  FROM pg_event_trigger t
	UNION ALL
	SELECT format('trigger %s enabled %s', pg_get_triggerdef(t.oid), t.tgenabled)
	  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
	 WHERE c.relnamespace = 'pgtrickle'::regnamespace AND NOT t.tgisinternal
	UNION ALL
	SELECT format('schema %s acl=%s comment=%s', n.nspname, coalesce(n.nspacl::text, ''),
				  coalesce(obj_description(n.oid, 'pg_namespace'), ''))
	  FROM pg_namespace n WHERE n.nspname LIKE 'pgtrickle%'
	UNION ALL
	SELECT format('dumped %s where %s', cfg::regclass, cond)
	  FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(cfg, cond)
	 WHERE e.extname = 'pg_trickle'
$$;

CREATE TABLE fresh_install AS SELECT describe_pg_trickle() AS line;
SELECT count(*) > 100 AS described FROM fresh_install;
DROP EXTENSION pg_trickle;

CREATE EXTENSION pg_trickle VERSION '0.1.0';
ALTER EXTENSION pg_trickle UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pg_trickle';

-- the same objects as a fresh install
SELECT 'missing after update: ' || line FROM (TABLE fresh_install EXCEPT SELECT describe_pg_trickle()) m
UNION ALL
SELECT 'extra after update: ' || line FROM (SELECT describe_pg_trickle() AS line EXCEPT TABLE fresh_install) x
ORDER BY 1;

\c :regress_db
DROP DATABASE pgt_upgrade;
