#!/usr/bin/env python3
"""stats_text_value.py: prints figures from libpoolmalloc's text statistics.

Usage: stats_text_value.py TEXT_FILE KEY...  For each KEY (a JSON key such as
total_allocations) prints the first number on the text line naming it,
whether the line spells it with underscores or spaces; exit status 1 if a
key is absent. Used to check that text and JSON report the same figures.
"""

import re
import sys


def text_value(text, key):
    pattern = re.compile(re.escape(key).replace("_", "[_ ]") + r"\b\D*?(\d+(?:\.\d+)?)",
                         re.IGNORECASE)
    match = pattern.search(text)
    return match.group(1) if match else None


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as stream:
        text = stream.read()
    status = 0
    for key in sys.argv[2:]:
        value = text_value(text, key)
        if value is None:
            print(f"{key} not found in the text statistics", file=sys.stderr)
            status = 1
        else:
            print(f"{key} {value}")
    return status


if __name__ == "__main__":
    sys.exit(main())
