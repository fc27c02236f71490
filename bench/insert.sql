-- pgbench: the journal's INSERT, as the service sends it, on the real table; each client writes
-- for its own patient (bench_patients is filled by bench/run from the accounts the run made).
\set pain random(0, 10)
INSERT INTO journal_entries (id, patient_id, recorded_at, local_date, pain, symptoms, content,
                             version, change_seq, deleted, created_at, updated_at)
SELECT gen_random_uuid(), p.id, now(), current_date, :pain, ',', '{"notes":"bench"}', 1,
       nextval('bench_change_seq'), FALSE, now(), now()
FROM bench_patients p WHERE p.n = :client_id
RETURNING *;
