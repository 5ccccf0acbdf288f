-- The issue's table for the point-select, update and insert workloads:
-- kv(k int primary key, v text) with 100k rows, and the sequence the
-- insert workload draws its keys from (past the loaded rows).
DROP TABLE IF EXISTS kv;
DROP SEQUENCE IF EXISTS kv_new_k;
CREATE TABLE kv (k int PRIMARY KEY, v text);
INSERT INTO kv SELECT g, 'value ' || g FROM generate_series(1, 100000) AS g;
CREATE SEQUENCE kv_new_k START WITH 100001;
