# tests/unit/local.mk: build rules for tests/unit/, included by the top-level Makefile.am.
