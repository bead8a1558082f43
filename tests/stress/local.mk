# tests/stress/local.mk: build rules for tests/stress/, included by the top-level Makefile.am.
