// node-postgres (`pg`, unmodified) against a running Alopex.
// Usage: node node_client.js <pg port>   (with `pg` on NODE_PATH)
'use strict';
const assert = require('assert');
const { Client, Pool } = require('pg');

async function main() {
  const port = Number(process.argv[2]);
  const client = new Client({ host: '127.0.0.1', port, user: 'alopex', database: 'alopex' });
  await client.connect();

  await client.query(`CREATE TABLE node_items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(10,2),
    qty BIGINT, seen TIMESTAMPTZ, tags JSONB, embedding VECTOR(3))`);

  // Parameterized inserts (extended protocol, unnamed statements).
  for (let i = 1; i <= 10; i++) {
    await client.query('INSERT INTO node_items VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      i, `item${i}`, `${i}.50`, 1000000000000 + i, new Date(Date.UTC(2024, 0, i, 12)), { n: i }, `[${i},${10 - i},0]`,
    ]);
  }

  // A named prepared statement, executed repeatedly.
  for (let i = 0; i < 3; i++) {
    const r = await client.query({ name: 'by-id', text: 'SELECT id, name, price, qty, seen, tags, embedding FROM node_items WHERE id = $1', values: [4] });
    assert.strictEqual(r.rows.length, 1);
    const row = r.rows[0];
    assert.strictEqual(row.id, 4);
    assert.strictEqual(row.name, 'item4');
    assert.strictEqual(row.price, '4.50');           // numeric arrives as text
    assert.strictEqual(row.qty, '1000000000004');    // int8 arrives as text
    assert.strictEqual(row.seen.getTime(), Date.UTC(2024, 0, 4, 12));
    assert.deepStrictEqual(row.tags, { n: 4 });
    assert.strictEqual(row.embedding, '[4,6,0]');
    assert.deepStrictEqual(r.fields.map((f) => f.name), ['id', 'name', 'price', 'qty', 'seen', 'tags', 'embedding']);
  }

  // Simple protocol, several statements in one query.
  const multi = await client.query('SELECT count(*) AS n FROM node_items; SELECT max(id) AS m FROM node_items');
  assert.strictEqual(multi.length, 2);
  assert.strictEqual(multi[0].rows[0].n, '10');
  assert.strictEqual(multi[1].rows[0].m, 10);

  // Transactions.
  await client.query('BEGIN');
  await client.query('DELETE FROM node_items WHERE id = 1');
  await client.query('ROLLBACK');
  await client.query('BEGIN');
  await client.query("UPDATE node_items SET name = 'renamed' WHERE id = 1");
  await client.query('COMMIT');
  const renamed = await client.query('SELECT name FROM node_items WHERE id = 1');
  assert.strictEqual(renamed.rows[0].name, 'renamed');

  // Errors carry SQLSTATEs, and an aborted transaction says so.
  await assert.rejects(client.query("INSERT INTO node_items (id, name) VALUES (1, 'dup')"), (e) => e.code === '23505');
  await client.query('BEGIN');
  await assert.rejects(client.query('SELECT 1/0'), (e) => e.code === '22012');
  await assert.rejects(client.query('SELECT 1'), (e) => e.code === '25P02');
  await client.query('ROLLBACK');
  await assert.rejects(client.query('SELEC 1'), (e) => e.code === '42601');

  // Nearest neighbours through an HNSW index.
  await client.query('CREATE INDEX node_items_embedding ON node_items USING hnsw (embedding vector_l2_ops)');
  const near = await client.query('SELECT id FROM node_items ORDER BY embedding <-> $1 LIMIT 3', ['[7,3,0]']);
  assert.deepStrictEqual(near.rows.map((r) => r.id), [7, 6, 8]);

  await client.end();

  // A pool of concurrent connections.
  const pool = new Pool({ host: '127.0.0.1', port, user: 'alopex', database: 'alopex', max: 4 });
  const results = await Promise.all(
    Array.from({ length: 8 }, (_, i) => pool.query('SELECT name FROM node_items WHERE id = $1', [(i % 10) + 1])),
  );
  assert.strictEqual(results.length, 8);
  assert.ok(results.every((r) => r.rows.length === 1));
  await pool.end();
  console.log('node ok');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
