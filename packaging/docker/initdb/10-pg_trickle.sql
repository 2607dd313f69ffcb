-- Run once by the image's entrypoint, on the first start with an empty data
-- directory, in POSTGRES_DB as POSTGRES_USER (psql -v ON_ERROR_STOP=1).
CREATE EXTENSION IF NOT EXISTS pg_trickle;
