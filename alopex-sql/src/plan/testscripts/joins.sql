-- Join selection and ordering.

CREATE TABLE big (id INTEGER PRIMARY KEY, small_id INTEGER, v INTEGER)

CREATE TABLE small (id INTEGER PRIMARY KEY, name TEXT)

CREATE TABLE mid (id INTEGER PRIMARY KEY, big_id INTEGER)

INSERT INTO small VALUES (1, 'a'), (2, 'b')

INSERT INTO big VALUES (1, 1, 10), (2, 2, 20), (3, 1, 30), (4, 2, 40), (5, 1, 50)

INSERT INTO mid VALUES (1, 1), (2, 3), (3, 5)

EXPLAIN SELECT small.name, big.v FROM big JOIN small ON big.small_id = small.id

EXPLAIN SELECT small.name, big.v FROM big, small WHERE big.small_id = small.id AND small.name = 'a'

EXPLAIN SELECT * FROM big LEFT JOIN small ON big.small_id = small.id AND small.name = 'b'

EXPLAIN SELECT count(*) FROM mid, big, small WHERE mid.big_id = big.id AND big.small_id = small.id

EXPLAIN SELECT * FROM big JOIN small ON big.v > small.id

EXPLAIN SELECT name FROM small s WHERE EXISTS (SELECT 1 FROM big b WHERE b.small_id = s.id AND b.v > 30)

EXPLAIN SELECT id FROM big WHERE small_id IN (SELECT id FROM small WHERE name = 'a')

-- Lookup joins: few left rows, keys on the other table's primary key or
-- an index prefix.

CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, g INTEGER)

CREATE TABLE u (id INTEGER PRIMARY KEY, k INTEGER, g INTEGER)

CREATE TABLE pairs (a INTEGER, b INTEGER, note TEXT, PRIMARY KEY (a, b))

CREATE INDEX t_k ON t (k)

INSERT INTO t SELECT d1.x * 100 + d2.x * 10 + d3.x, (d1.x * 100 + d2.x * 10 + d3.x) % 97, d3.x FROM (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) d1(x), (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) d2(x), (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) d3(x)

INSERT INTO pairs SELECT id / 10, id % 10, 'n' FROM t

INSERT INTO u SELECT id, id * 7 % 1000, id % 10 FROM t WHERE id < 100

EXPLAIN SELECT count(*), sum(t.k) FROM u JOIN t ON t.id = u.k WHERE u.g < 3

EXPLAIN SELECT u.id, t.g FROM u LEFT JOIN t ON t.id = u.k AND t.g > 4 WHERE u.id < 5

EXPLAIN SELECT u.id, t.id FROM u JOIN t ON t.k = u.k AND t.g <> u.g WHERE u.id = 3

EXPLAIN SELECT u.id, pairs.note FROM u JOIN pairs ON pairs.a = u.g WHERE u.id < 4

EXPLAIN SELECT count(*) FROM u JOIN t ON t.id = u.k

EXPLAIN SELECT count(*) FROM t JOIN pairs ON pairs.a = t.id AND pairs.b = t.g
