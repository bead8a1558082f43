# tests/integration/plan_cli.mk: poolmalloc-plan end to end (plan_cli.sh
# with its fixtures and an independent plan validator), the runtime-linked
# example (runtime_link.sh) and the plan cache's contract with and without
# the library (plan_contract.sh), included by the top-level Makefile.am.

# Built against the header alone: no libpoolmalloc on their link lines.
check_PROGRAMS += examples/runtime_link/runtime_link tests/integration/plan_contract
examples_runtime_link_runtime_link_SOURCES = examples/runtime_link/runtime_link.c
examples_runtime_link_runtime_link_CPPFLAGS = -I$(top_srcdir)/include
examples_runtime_link_runtime_link_LDADD =
tests_integration_plan_contract_SOURCES = tests/integration/plan_contract.c
tests_integration_plan_contract_CPPFLAGS = -I$(top_srcdir)/include
tests_integration_plan_contract_LDADD =

plan_cli_tests = \
	tests/integration/plan_cli.sh \
	tests/integration/runtime_link.sh \
	tests/integration/plan_contract.sh
TESTS += $(plan_cli_tests)
EXTRA_DIST += $(plan_cli_tests) \
	tests/integration/plan_check.py \
	tests/integration/data/plan_small.csv \
	tests/integration/data/plan_empty.csv \
	tests/integration/data/plan_bad_column.csv \
	tests/integration/data/plan_bad_number.csv \
	tests/integration/data/plan_bad_negative.csv \
	tests/integration/data/plan_bad_overflow.csv \
	tests/integration/data/plan_bad_interval.csv \
	tests/integration/data/plan_bad_zero_size.csv \
	tests/integration/data/plan_bad_fields.csv \
	tests/integration/data/plan_bad_quote.csv \
	tests/integration/data/plan_bad_after_quote.csv
