# tests/fuzz/local.mk: libFuzzer targets, included by the top-level Makefile.am.
