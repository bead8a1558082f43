# tests/programs/local.mk: build rules, included by the top-level Makefile.am.
#
# `make check-programs` (not part of make check: it takes minutes) runs
# unmodified real programs preloaded with libpoolmalloc and compares their
# results with glibc's: CPython's regression tests, git, this project's
# own build, sqlite3, perl, and the threaded C++ program of the
# integration tests.

programs_own_scripts = \
	tests/programs/python_regrtest.sh \
	tests/programs/git_repo.sh \
	tests/programs/gcc_project.sh \
	tests/programs/sqlite_large.sh \
	tests/programs/perl_text.sh
programs_scripts = $(programs_own_scripts) tests/integration/cxx_threads.sh
EXTRA_DIST += tests/programs/run_programs.sh $(programs_own_scripts)
CLEANFILES += tests/programs/*.log

.PHONY: check-programs
check-programs: $(lib_LTLIBRARIES) tests/integration/cxx_threads$(EXEEXT)
	@$(AM_TESTS_ENVIRONMENT) \
	$(SHELL) $(srcdir)/tests/programs/run_programs.sh $(programs_scripts)
