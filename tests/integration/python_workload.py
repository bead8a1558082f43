"""python_workload.py: an allocation-heavy, deterministic Python program.

Builds dicts, lists, sets and strings of many sizes (large ones go to
malloc even with pymalloc on), round-trips them through json, and prints
checksums that must not depend on the allocator.
"""

import hashlib
import json
import sys


def build_records(count):
    records = []
    for i in range(count):
        records.append({
            "id": i,
            "name": "item-%06d" % i,
            "tags": ["t%d" % (i % k) for k in range(1, 9)],
            "payload": "x" * (i % 700) + str(i),
            "values": list(range(i % 50)),
        })
    return records


def digest(text):
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def main():
    records = build_records(20000)
    encoded = json.dumps(records, sort_keys=True)
    decoded = json.loads(encoded)
    assert decoded == records, "json round trip changed the data"

    index = {}
    for rec in decoded:
        for tag in rec["tags"]:
            index.setdefault(tag, []).append(rec["id"])
    words = " ".join(rec["name"] for rec in records).split()
    unique = sorted(set(w[-3:] for w in words))
    growing = []
    for i in range(3000):
        growing.append(bytearray(i * 7 % 4096))
        if i % 3 == 0:
            growing.pop(0)
    big = ["%d:%s" % (i, "y" * (i % 2000)) for i in range(5000)]

    print("records", len(records), digest(encoded))
    print("index", len(index), sum(len(v) for v in index.values()))
    print("unique", len(unique), digest("".join(unique)))
    print("bytes", len(growing), sum(len(b) for b in growing))
    print("big", len(big), digest("|".join(big)))
    print("python", sys.version_info[0])


if __name__ == "__main__":
    main()
