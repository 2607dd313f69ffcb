{{ config(materialized='stream_table') }}
-- A leading comment with a 'quote', $$ and $pgtrickle_0$.
SELECT o.id,
       'it''s' AS quoted,                 -- a 'quoted' comment
       $$dollar 'quoted' text$$ AS dollars,
       $pgtrickle_0$tagged $$ text$pgtrickle_0$ AS tagged,
       /* a block comment with 'quotes' and $$ */ o.amount,
       E'back\\slash' AS backslash,
       '100%' AS percent
FROM {{ ref('raw_orders') }} AS o -- a trailing comment
