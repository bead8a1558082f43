# src/planner/local.mk: build rules for src/planner/, included by the top-level Makefile.am.
