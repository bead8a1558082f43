# tools/run.mk: the poolmalloc-run wrapper and the poolmalloc(3) manual,
# included by the top-level Makefile.am. The wrapper gets the install
# libdir substituted at make time (as jemalloc.sh does), so it follows
# `make prefix=...` and `make install DESTDIR=...`; the installed copy is
# written again at install time, for `make install prefix=...` in a tree
# built for another prefix.
bin_SCRIPTS += tools/poolmalloc-run
CLEANFILES += tools/poolmalloc-run
EXTRA_DIST += tools/poolmalloc-run.in
dist_man_MANS += man/poolmalloc.3 man/poolmalloc-run.1

# The one substitution, for the build tree's copy and the installed one.
poolmalloc_run_generate = sed -e 's|@libdir[@]|$(libdir)|g' $(top_srcdir)/tools/poolmalloc-run.in

install-exec-hook:
	$(poolmalloc_run_generate) > '$(DESTDIR)$(bindir)/poolmalloc-run'
	chmod +x '$(DESTDIR)$(bindir)/poolmalloc-run'

tools/poolmalloc-run: $(top_srcdir)/tools/poolmalloc-run.in Makefile
	$(AM_V_GEN)$(MKDIR_P) tools && $(poolmalloc_run_generate) > $@.tmp && \
	chmod +x $@.tmp && mv $@.tmp $@
