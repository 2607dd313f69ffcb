-- The extension and the source table come first: a stream table can only
-- be created over tables that exist.
CREATE EXTENSION IF NOT EXISTS pg_trickle;

CREATE TABLE orders (
    id          bigserial PRIMARY KEY,
    customer_id integer        NOT NULL,
    amount      numeric(12, 2) NOT NULL
);
