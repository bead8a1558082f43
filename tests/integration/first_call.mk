# tests/integration/first_call.mk: the first allocator call of a process,
# made before any constructor, included by the top-level Makefile.am.
check_PROGRAMS += tests/integration/first_call
tests_integration_first_call_SOURCES = tests/integration/first_call.c
TESTS += tests/integration/first_call.sh
EXTRA_DIST += tests/integration/first_call.sh
