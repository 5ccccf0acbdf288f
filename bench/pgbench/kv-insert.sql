-- Insert a new row (keys from a sequence, so they never collide).
INSERT INTO kv (k, v) VALUES (nextval('kv_new_k'), 'inserted');
