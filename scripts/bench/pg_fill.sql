-- Benchmark data for scripts/bench.sh: adds bench_text (psql variable :rows rows of random, not trivially compressible values) next to pgbench's tables, then records the build parameters in bench_meta last (its presence means the database is complete).
-- psql -v rows=N -v scale=S -v generator=G -f pg_fill.sql
\set ON_ERROR_STOP on
DROP TABLE IF EXISTS bench_meta;
DROP TABLE IF EXISTS bench_text;
CREATE TABLE bench_text (
    id         bigint        NOT NULL,
    token      text          NOT NULL,  -- 32 hex digits: incompressible beyond ~50%
    qty        integer       NOT NULL,
    amount     numeric(12,2) NOT NULL,
    created_at timestamptz   NOT NULL,
    status     text          NOT NULL,  -- 6 repeated words
    city       text          NOT NULL,  -- 20 repeated words
    note       text          NOT NULL   -- 4 words from a 30-word vocabulary
);
\set words '''{alpha,bravo,charlie,delta,echo,foxtrot,golf,hotel,india,juliet,kilo,lima,mike,november,oscar,papa,quebec,romeo,sierra,tango,uniform,victor,whiskey,xray,yankee,zulu,invoice,order,refund,shipment}''::text[]'
\set cities '''{Berlin,Hamburg,Munich,Cologne,Frankfurt,Stuttgart,Dresden,Leipzig,Bremen,Hanover,Paris,Lyon,Madrid,Lisbon,Vienna,Prague,Warsaw,Oslo,Dublin,Rome}''::text[]'
\set statuses '''{new,paid,packed,shipped,delivered,refunded}''::text[]'
INSERT INTO bench_text
SELECT g,
       md5(random()::text),
       (random() * 100000)::int,
       round((random() * 100000)::numeric, 2),
       timestamptz '2024-01-01 00:00:00+00' - random() * interval '1000 days',
       (:statuses)[1 + floor(random() * 6)::int],
       (:cities)[1 + floor(random() * 20)::int],
       (:words)[1 + floor(random() * 30)::int] || ' ' || (:words)[1 + floor(random() * 30)::int] || ' ' ||
       (:words)[1 + floor(random() * 30)::int] || ' ' || (:words)[1 + floor(random() * 30)::int]
  FROM generate_series(1, :rows) AS g;
ALTER TABLE bench_text ADD PRIMARY KEY (id);
VACUUM ANALYZE bench_text;
CREATE TABLE bench_meta (k text PRIMARY KEY, v text NOT NULL);
INSERT INTO bench_meta VALUES ('scale', :'scale'), ('rows', :'rows'), ('generator', :'generator');
