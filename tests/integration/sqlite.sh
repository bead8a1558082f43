#!/bin/sh
# sqlite.sh: Debian's sqlite3 shell doing a few thousand inserts, an index,
# updates, deletes, joins and aggregate queries on a database file; the
# query results must be identical under the preloaded library.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library
command -v sqlite3 >/dev/null || { echo "Bail out! sqlite3 not installed"; exit 1; }

# The workload as one SQL script; awk writes the inserts so that the text
# differs row by row (varied string lengths exercise many size classes).
awk 'BEGIN {
  print "PRAGMA journal_mode=WAL;"
  print "CREATE TABLE person(id INTEGER PRIMARY KEY, name TEXT, city INTEGER, note TEXT);"
  print "CREATE TABLE city(id INTEGER PRIMARY KEY, label TEXT);"
  print "BEGIN;"
  for (c = 0; c < 50; c++) printf "INSERT INTO city VALUES(%d, %ccity-%d%c);\n", c, 39, c * 7, 39
  x = 7
  for (i = 0; i < 4000; i++) {
    x = (x * 1103515245 + 12345) % 2147483648
    note = ""
    for (k = 0; k < x % 40; k++) note = note "n" (k % 10)
    printf "INSERT INTO person(name, city, note) VALUES(%cname-%d%c, %d, %c%s%c);\n", 39, x % 100000, 39, x % 50, 39, note, 39
  }
  print "COMMIT;"
  print "CREATE INDEX person_city ON person(city, name);"
  print "UPDATE person SET note = note || upper(name) WHERE id % 3 = 0;"
  print "DELETE FROM person WHERE id % 11 = 0;"
  print "SELECT count(*), sum(length(note)), min(name), max(name) FROM person;"
  print "SELECT c.label, count(*), sum(length(p.note)) FROM person p JOIN city c ON c.id = p.city GROUP BY c.label ORDER BY 2 DESC, 1 LIMIT 10;"
  print "SELECT name FROM person WHERE note LIKE \"%n9n0%\" ORDER BY name LIMIT 15;"
  print "SELECT group_concat(id, \",\") FROM (SELECT id FROM person WHERE city = 8 ORDER BY id);"
  print "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 3000) SELECT count(*), sum(n * n) FROM seq;"
  print "SELECT city, count(DISTINCT name) FROM person GROUP BY city HAVING count(*) > 80 ORDER BY city;"
  print "PRAGMA integrity_check;"
}' >"$pm_tmp/workload.sql"

# Each run starts from a fresh database file.
query='rm -f "$1"/db.sqlite*; sqlite3 "$1/db.sqlite" <"$1/workload.sql"'

tap_plan 3
tap_same_output "sqlite3 inserts and queries" sh -c "$query" sh "$pm_tmp"
tap_stats "sqlite3 inserts and queries" 20000
tap_done
