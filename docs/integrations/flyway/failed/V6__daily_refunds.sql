-- Runs outside a transaction (V6__daily_refunds.sql.conf says so): each
-- statement commits on its own, so a failure leaves the first ones done.
CREATE TABLE IF NOT EXISTS refund_reasons (code text PRIMARY KEY);
-- Wrong: the table "refunds" does not exist yet.
SELECT pgtrickle.create_stream_table(
    'daily_refunds',
    $$SELECT customer_id, sum(amount) AS refunded FROM refunds GROUP BY customer_id$$
);
