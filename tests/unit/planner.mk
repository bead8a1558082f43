# tests/unit/planner.mk: build rules, included by the top-level Makefile.am.
