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
