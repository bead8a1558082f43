# tools/run.mk: the poolmalloc-run wrapper and the poolmalloc(3) manual,
# included by the top-level Makefile.am. The wrapper gets the install
# libdir substituted at make time (as jemalloc.sh does), so it follows
# `make prefix=...` and `make install DESTDIR=...`.
bin_SCRIPTS += tools/poolmalloc-run
CLEANFILES += tools/poolmalloc-run
EXTRA_DIST += tools/poolmalloc-run.in
dist_man_MANS += man/poolmalloc.3

tools/poolmalloc-run: $(top_srcdir)/tools/poolmalloc-run.in Makefile
	$(AM_V_GEN)$(MKDIR_P) tools && \
	sed -e 's|@libdir[@]|$(libdir)|g' $(top_srcdir)/tools/poolmalloc-run.in > $@.tmp && \
	chmod +x $@.tmp && mv $@.tmp $@
