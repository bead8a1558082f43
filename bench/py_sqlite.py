"""py_sqlite.py: a real program's allocation pattern: SQLite (through
Python's sqlite3 module, so every page cache and statement allocation goes
through malloc) inserts rows into an indexed in-memory table in one
transaction, then runs point, range and aggregate queries. Usage:
py_sqlite.py [THREADS [SCALE]]; THREADS is ignored. Exits non-zero when a
query returns a wrong answer."""

import sqlite3

from py_common import finish, scale_argument

ROWS = 200_000


def main():
    rows = max(1000, int(ROWS * scale_argument()))
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, price REAL, tag INTEGER)")
    db.execute("CREATE INDEX item_name ON item(name)")
    db.execute("CREATE INDEX item_tag ON item(tag)")
    with db:
        db.executemany(
            "INSERT INTO item (id, name, price, tag) VALUES (?, ?, ?, ?)",
            ((i, f"item-{(i * 7919) % rows:08d}-{'x' * (i % 40)}", i * 0.5, i % 97)
             for i in range(rows)))
    count = db.execute("SELECT COUNT(*) FROM item").fetchone()[0]
    total = db.execute("SELECT SUM(tag) FROM item WHERE tag < 10").fetchone()[0]
    expected_total = sum(i % 97 for i in range(rows) if i % 97 < 10)
    # Row i's name starts with (i * 7919) % rows, a different number for
    # every row while the prime 7919 does not divide rows: the first name at
    # or after a probe's is then the probe's own row.
    unique = rows % 7919 != 0
    probes = range(0, rows, max(1, rows // 2000))
    hits = 0
    for probe in probes:
        name = f"item-{(probe * 7919) % rows:08d}"
        row = db.execute("SELECT id FROM item WHERE name >= ? ORDER BY name LIMIT 1",
                         (name,)).fetchone()
        hits += row is not None and (not unique or row[0] == probe)
    groups = db.execute("SELECT tag, COUNT(*), AVG(price) FROM item GROUP BY tag").fetchall()
    db.close()
    failure = ""
    if (count != rows or total != expected_total or len(groups) != min(97, rows) or
            hits != len(probes)):
        failure = (f"count {count}/{rows}, sum {total}/{expected_total}, groups {len(groups)}, "
                   f"probes found {hits}/{len(probes)}")
    finish("sqlite", failure, f"rows={rows} probes={hits}")


if __name__ == "__main__":
    main()
