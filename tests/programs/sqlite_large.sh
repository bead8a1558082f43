#!/bin/sh
# sqlite_large.sh: a larger sqlite3 workload than the one in make check:
# 200k rows generated in SQL, 20k single-row inserts, indexes, a full-text
# index, window functions, joins and a VACUUM, on a database file. Query
# results must be identical natively and preloaded.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library
command -v sqlite3 >/dev/null || { echo "Bail out! sqlite3 not installed"; exit 1; }

{
  cat <<'SQL'
PRAGMA cache_size = -20000;
CREATE TABLE item(id INTEGER PRIMARY KEY, grp INTEGER, name TEXT, body TEXT, score REAL);
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 200000)
INSERT INTO item(grp, name, body, score)
  SELECT n % 997, 'item' || n, printf('%.*c', n % 300, 'b') || hex(n * 2654435761 % 4294967296),
         (n * 7919 % 10007) / 100.0 FROM seq;
CREATE INDEX item_grp ON item(grp, score);
CREATE TABLE note(id INTEGER PRIMARY KEY, item INTEGER, text TEXT);
BEGIN;
SQL
  awk 'BEGIN { x = 99; for (i = 0; i < 20000; i++) {
    x = (x * 1103515245 + 12345) % 2147483648
    printf "INSERT INTO note(item, text) VALUES(%d, %cword%d alpha%d beta%d %s%c);\n", x % 200000 + 1, 39, x % 5000, x % 13, x % 29, substr("lorem ipsum dolor sit amet consectetur adipiscing elit", 1, x % 55), 39
  } }'
  cat <<'SQL'
COMMIT;
CREATE VIRTUAL TABLE note_fts USING fts5(text);
INSERT INTO note_fts(rowid, text) SELECT id, text FROM note;
SELECT count(*), sum(length(body)), round(avg(score), 4) FROM item;
SELECT grp, count(*), round(sum(score), 2) FROM item WHERE grp % 100 = 3 GROUP BY grp ORDER BY grp;
SELECT count(*) FROM note_fts WHERE note_fts MATCH 'alpha7 AND beta3';
SELECT rowid FROM note_fts WHERE note_fts MATCH 'word42*' ORDER BY rowid LIMIT 10;
SELECT i.name, count(n.id) AS notes FROM item i JOIN note n ON n.item = i.id
  GROUP BY i.id ORDER BY notes DESC, i.id LIMIT 10;
SELECT grp, name, score, rank FROM (SELECT grp, name, score,
  rank() OVER (PARTITION BY grp ORDER BY score DESC, id) AS rank FROM item WHERE grp < 5)
  WHERE rank <= 2 ORDER BY grp, rank;
UPDATE item SET body = upper(body) WHERE id % 5 = 0;
DELETE FROM item WHERE id % 7 = 0;
VACUUM;
SELECT count(*), sum(length(body)), max(name) FROM item;
PRAGMA integrity_check;
SQL
} >"$pm_tmp/workload.sql"

query='rm -f "$1"/db.sqlite*; sqlite3 "$1/db.sqlite" <"$1/workload.sql"'
tap_plan 3
tap_same_output "sqlite3 200k rows, fts5, window functions, vacuum" sh -c "$query" sh "$pm_tmp"
tap_stats "sqlite3 large workload" 100000
tap_done
