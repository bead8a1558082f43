# tests/integration/code_pages.mk: the library's code stays off the pages
# of programs that do not run it (src/cold.ld), included by the top-level
# Makefile.am.

# Built against the header alone, run preloaded.
check_PROGRAMS += tests/integration/code_pages
tests_integration_code_pages_SOURCES = tests/integration/code_pages.c
tests_integration_code_pages_CPPFLAGS = -I$(top_srcdir)/include
tests_integration_code_pages_LDADD =
TESTS += tests/integration/code_pages.sh
EXTRA_DIST += tests/integration/code_pages.sh
