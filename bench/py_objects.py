"""py_objects.py: allocation-heavy Python: building and dropping dicts,
lists, strings and tuples, as parsers and data pipelines do. Run with
PYTHONMALLOC=malloc (the runner does) so that small objects reach malloc
instead of pymalloc's arenas. Usage: py_objects.py [THREADS [SCALE]];
THREADS is ignored. Exits non-zero when a checksum is wrong."""

import gc

from py_common import finish, scale_argument

ROUNDS = 8
RECORDS = 40_000


def build(round_number, records):
    table = {}
    for i in range(records):
        key = f"k{round_number}-{i}"
        table[key] = {"id": i, "name": key.upper(), "tags": [key[:3], str(i % 13)],
                      "point": (i, i * 2)}
    return table


def main():
    records = max(500, int(RECORDS * scale_argument()))
    kept = []
    checksum = 0
    for round_number in range(ROUNDS):
        table = build(round_number, records)
        words = " ".join(value["name"] for value in table.values()).split()
        checksum += sum(value["point"][1] for value in table.values()) + len(words)
        # Keep a slice of each round alive so the heap holds mixed lifetimes.
        kept.append([table[f"k{round_number}-{i}"] for i in range(0, records, 10)])
        del table, words
    expected = ROUNDS * (records * (records - 1) + records)
    live = sum(len(chunk) for chunk in kept)
    del kept
    gc.collect()
    finish("python", f"checksum {checksum} != {expected}" if checksum != expected else "",
           f"records={records * ROUNDS} kept={live}")


if __name__ == "__main__":
    main()
