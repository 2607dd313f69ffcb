#!/bin/sh
# The Liquibase CLI with the pg_trickle change types: the jar goes into the
# lib/ folder of the Liquibase installation, beside the JDBC driver.
#   LIQUIBASE_HOME  the Liquibase 4.x installation (its liquibase script)
#   JDBC_URL        jdbc:postgresql://HOST:PORT/DATABASE?user=USER
set -eu
cp liquibase-pgtrickle-0.1.0.jar "$LIQUIBASE_HOME/lib/"

liquibase --url="$JDBC_URL" --changelog-file=changelog.xml validate
liquibase --url="$JDBC_URL" --changelog-file=changelog.xml update-sql
liquibase --url="$JDBC_URL" --changelog-file=changelog.xml update
liquibase --url="$JDBC_URL" --changelog-file=changelog.xml rollback-count --count=2
liquibase --url="$JDBC_URL" --changelog-file=changelog.xml update
