-- The EXPLAINs of docs/stores.md ("Query plans"): psql -X -d <database> -f bench/pg/explain.sql
-- on a chime database (e.g. 1,000,000 jobs and runs, see docs/stores.md), with the
-- session settings chime's connections use. Transactions are rolled back.
SET TIME ZONE 'UTC'; SET plan_cache_mode = force_custom_plan; SET enable_bitmapscan = off;
\echo === claim select (256 due of 1M; 1000 due)
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT j.spec, chime_us(j.next_run_time), j.version, (SELECT count(*) FROM runs r WHERE r.job_id = j.id AND r.status = 'running'), chime_us(coalesce(chime_ts(NULL::bigint), now())) FROM jobs j WHERE j.next_run_time IS NOT NULL AND j.next_run_time <= coalesce(chime_ts(NULL::bigint), now()) ORDER BY j.next_run_time, j.id LIMIT 256 FOR UPDATE OF j SKIP LOCKED;
ROLLBACK;
\echo === next due
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT chime_us(next_run_time), chime_us(now()) FROM jobs WHERE next_run_time IS NOT NULL ORDER BY next_run_time LIMIT 1;
\echo === finish 50 running runs
BEGIN;
SELECT '[' || string_agg(format('{"i":%s,"st":"succeeded","t1":1}', id), ',') || ']' AS js, '{' || string_agg(id::text, ',') || '}' AS ids FROM (SELECT id FROM runs WHERE status = 'running' ORDER BY id LIMIT 50) x \gset
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) UPDATE runs r SET status = f.st, started_at = coalesce(chime_ts(f.t0), r.started_at), finished_at = chime_ts(f.t1), error = f.e, output = f.o FROM jsonb_to_recordset(:'js'::jsonb) AS f(i bigint, st text, t0 bigint, t1 bigint, e text, o text) WHERE r.id = ANY (:'ids'::bigint[]) AND r.id = f.i AND r.status || '' = 'running' RETURNING r.id;
ROLLBACK;
\echo === reap dead nodes runs
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) UPDATE runs r SET status = 'lost', finished_at = now(), error = 'node ' || coalesce(r.node, '?') || ' stopped heartbeating' WHERE r.status = 'running' AND r.node IS DISTINCT FROM 'me' AND EXISTS (SELECT 1 FROM nodes n WHERE n.name = r.node AND n.heartbeat_at < now() - 15000::bigint * interval '1 millisecond') RETURNING r.id;
ROLLBACK;
\echo === runs page, all
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM runs WHERE (NULL::text IS NULL OR job_id = NULL) AND (NULL::text IS NULL OR status = NULL) AND (NULL::bigint IS NULL OR id < NULL) ORDER BY id DESC LIMIT 1000;
\echo === runs page, one job
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM runs WHERE ('j5'::text IS NULL OR job_id = 'j5') AND (NULL::text IS NULL OR status = NULL) AND (NULL::bigint IS NULL OR id < NULL) ORDER BY id DESC LIMIT 1000;
\echo === runs page, status running
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM runs WHERE (NULL::text IS NULL OR job_id = NULL) AND ('running'::text IS NULL OR status = 'running') AND (NULL::bigint IS NULL OR id < NULL) ORDER BY id DESC LIMIT 1000;
