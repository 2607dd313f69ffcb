{#
  Generic test stream_table_consistent: refreshes the stream table behind the
  model, then compares its contents with its defining query under one
  snapshot, as multisets (pgtrickle.verify_stream_table); every row that
  differs is a failure (side 'missing' or 'extra').  __pgt_* columns are
  ignored.  The refresh only brings the table up to date; dbt usually rolls
  it back with the test's transaction.

    models:
      - name: order_totals
        data_tests:
          - dbt_pgtrickle.stream_table_consistent
#}
{% test stream_table_consistent(model) %}
select side, row_data
from pgtrickle.verify_stream_table({{ dbt_pgtrickle.pgtrickle_quote_text(model.include(database=false) | string) }})
{% endtest %}
