-- Runs outside a transaction (V6__daily_refunds.sql.conf says so): each
-- statement commits on its own.  Written to run again over what a failed
-- attempt left behind (IF NOT EXISTS, _if_not_exists).
CREATE TABLE IF NOT EXISTS refund_reasons (code text PRIMARY KEY);
CREATE TABLE IF NOT EXISTS refunds (
    order_id    bigint PRIMARY KEY REFERENCES orders,
    customer_id integer        NOT NULL,
    amount      numeric(12, 2) NOT NULL,
    reason      text REFERENCES refund_reasons
);
SELECT pgtrickle.create_stream_table_if_not_exists(
    'daily_refunds',
    $$SELECT customer_id, sum(amount) AS refunded FROM refunds GROUP BY customer_id$$
);
