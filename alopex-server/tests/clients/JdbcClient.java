// pgJDBC (the PostgreSQL JDBC driver, unmodified) against a running Alopex.
// Usage: java -cp postgresql.jar:. JdbcClient <pg port>
// Exits non-zero with a message on the first failed check.

import java.math.BigDecimal;
import java.sql.*;

public class JdbcClient {
    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError("check failed: " + what);
        }
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/alopex?user=alopex&password=x";
        try (Connection c = DriverManager.getConnection(url)) {
            DatabaseMetaData meta = c.getMetaData();
            check(meta.getDatabaseProductName().equals("PostgreSQL"), "product name " + meta.getDatabaseProductName());

            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE jdbc_acct (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance NUMERIC(12,2), "
                        + "opened TIMESTAMP, active BOOLEAN, score DOUBLE PRECISION, big BIGINT, embedding VECTOR(3))");
            }

            // Prepared inserts: more than prepareThreshold (5) executions, so
            // the driver switches to a named server-side statement and binary
            // parameters.
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO jdbc_acct VALUES (?, ?, ?, ?, ?, ?, ?, ?::vector)")) {
                for (int i = 1; i <= 12; i++) {
                    ps.setInt(1, i);
                    ps.setString(2, "owner" + i);
                    ps.setBigDecimal(3, new BigDecimal(i + ".25"));
                    ps.setTimestamp(4, Timestamp.valueOf("2024-01-0" + (1 + i % 9) + " 10:30:00"));
                    ps.setBoolean(5, i % 2 == 0);
                    ps.setDouble(6, i * 1.5);
                    ps.setLong(7, 5_000_000_000L + i);
                    ps.setString(8, "[" + i + "," + (12 - i) + ",1]");
                    check(ps.executeUpdate() == 1, "insert " + i);
                }
            }

            // Batches.
            try (PreparedStatement ps = c.prepareStatement("UPDATE jdbc_acct SET score = score + ? WHERE id = ?")) {
                for (int i = 1; i <= 3; i++) {
                    ps.setDouble(1, 100.0);
                    ps.setInt(2, i);
                    ps.addBatch();
                }
                int[] counts = ps.executeBatch();
                check(counts.length == 3 && counts[0] == 1 && counts[2] == 1, "batch counts");
            }

            // Typed getters over a prepared query, executed repeatedly.
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT id, owner, balance, opened, active, score, big, embedding FROM jdbc_acct WHERE id = ?")) {
                for (int round = 0; round < 7; round++) {
                    ps.setInt(1, 2);
                    try (ResultSet rs = ps.executeQuery()) {
                        check(rs.next(), "row 2");
                        check(rs.getInt(1) == 2, "id");
                        check(rs.getString("owner").equals("owner2"), "owner");
                        check(rs.getBigDecimal(3).compareTo(new BigDecimal("2.25")) == 0, "balance " + rs.getBigDecimal(3));
                        check(rs.getTimestamp(4).equals(Timestamp.valueOf("2024-01-03 10:30:00")), "opened " + rs.getTimestamp(4));
                        check(rs.getBoolean(5), "active");
                        check(rs.getDouble(6) == 103.0, "score " + rs.getDouble(6));
                        check(rs.getLong(7) == 5_000_000_002L, "big");
                        check(rs.getString(8).equals("[2,10,1]"), "embedding " + rs.getString(8));
                        check(!rs.next(), "one row");
                    }
                }
            }

            // Result metadata.
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT id, owner, balance, active FROM jdbc_acct ORDER BY id LIMIT 3")) {
                ResultSetMetaData md = rs.getMetaData();
                check(md.getColumnCount() == 4, "column count");
                check(md.getColumnName(2).equals("owner"), "column name");
                check(md.getColumnType(1) == Types.INTEGER, "int4 type " + md.getColumnType(1));
                check(md.getColumnType(3) == Types.NUMERIC, "numeric type");
                check(md.getColumnType(4) == Types.BIT || md.getColumnType(4) == Types.BOOLEAN, "bool type");
                int n = 0;
                while (rs.next()) {
                    n++;
                }
                check(n == 3, "three rows");
            }

            // NULLs.
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO jdbc_acct (id, owner) VALUES (?, ?)")) {
                ps.setInt(1, 100);
                ps.setString(2, "nobody");
                ps.executeUpdate();
            }
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT balance, embedding FROM jdbc_acct WHERE id = 100")) {
                check(rs.next(), "row 100");
                check(rs.getBigDecimal(1) == null && rs.wasNull(), "NULL numeric");
                check(rs.getString(2) == null, "NULL vector");
            }

            // Transactions: rollback discards, commit keeps.
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.executeUpdate("DELETE FROM jdbc_acct WHERE id = 1");
                c.rollback();
                s.executeUpdate("UPDATE jdbc_acct SET owner = 'changed' WHERE id = 1");
                c.commit();
            }
            c.setAutoCommit(true);
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT owner FROM jdbc_acct WHERE id = 1")) {
                check(rs.next() && rs.getString(1).equals("changed"), "committed update");
            }

            // Errors carry SQLSTATEs.
            try (Statement s = c.createStatement()) {
                s.executeUpdate("INSERT INTO jdbc_acct (id, owner) VALUES (1, 'dup')");
                check(false, "duplicate key accepted");
            } catch (SQLException e) {
                check("23505".equals(e.getSQLState()), "unique violation state " + e.getSQLState());
            }
            try (Statement s = c.createStatement()) {
                s.executeQuery("SELECT nope FROM jdbc_acct");
                check(false, "unknown column accepted");
            } catch (SQLException e) {
                check("42703".equals(e.getSQLState()), "undefined column state " + e.getSQLState());
            }

            // Nearest neighbours through an HNSW index, the vector as a parameter.
            try (Statement s = c.createStatement()) {
                s.execute("CREATE INDEX jdbc_acct_embedding ON jdbc_acct USING hnsw (embedding vector_l2_ops)");
            }
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT id, embedding <-> ?::vector AS d FROM jdbc_acct ORDER BY embedding <-> ?::vector LIMIT 2")) {
                ps.setString(1, "[3,9,1]");
                ps.setString(2, "[3,9,1]");
                try (ResultSet rs = ps.executeQuery()) {
                    check(rs.next() && rs.getInt(1) == 3 && rs.getDouble(2) == 0.0, "nearest is row 3");
                    check(rs.next(), "second nearest");
                }
            }
        }
        System.out.println("jdbc ok");
    }
}
