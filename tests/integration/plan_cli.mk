# tests/integration/plan_cli.mk: build rules, included by the top-level Makefile.am.
