{# Hooks in all four places; they write to public.pgt_hook_log (made by on-run-start). #}
{{ config(
    materialized='stream_table',
    pre_hook=[
      {"sql": "insert into public.pgt_hook_log (event) values ('pre outside')", "transaction": false},
      "insert into public.pgt_hook_log (event) values ('pre inside')"
    ],
    post_hook=[
      "insert into public.pgt_hook_log (event) values ('post inside, ' || (select count(*) from {{ this }}))",
      {"sql": "insert into public.pgt_hook_log (event) values ('post outside')", "transaction": false}
    ]
) }}

SELECT id, customer_id FROM {{ ref('raw_orders') }}
