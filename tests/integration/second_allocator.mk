# tests/integration/second_allocator.mk: the less common malloc calls with
# another allocator in front; included by the top-level Makefile.am.

check_PROGRAMS += tests/integration/second_allocator
tests_integration_second_allocator_SOURCES = tests/integration/second_allocator.c
TESTS += tests/integration/second_allocator.sh
EXTRA_DIST += tests/integration/second_allocator.sh
