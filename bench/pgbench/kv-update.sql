-- Update by primary key (an autocommit statement: one fsynced commit).
\set k random(1, 100000)
UPDATE kv SET v = 'updated' WHERE k = :k;
