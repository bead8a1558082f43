# tests/sanitize/local.mk: sanitizer and valgrind runs, included by the top-level Makefile.am.
