# examples/local.mk: the infer example (LeNet-5 on Fashion-MNIST on a planned
# arena, and shape-only plans of published networks), its tests, and the
# demo and train-weights targets. Included by the top-level Makefile.am.
# Built by make check and make demo (not by a plain make), and only with
# zlib, which reads the gzipped dataset.
if HAVE_ZLIB
check_PROGRAMS += examples/infer/infer
demo_programs = examples/infer/infer
endif
examples_infer_infer_SOURCES = \
	examples/infer/main.c \
	examples/infer/error.c examples/infer/error.h \
	examples/infer/idx.c examples/infer/idx.h \
	examples/infer/weights.c examples/infer/weights.h \
	examples/infer/kernels.c examples/infer/kernels.h \
	examples/infer/lenet.c examples/infer/lenet.h \
	examples/infer/model.c examples/infer/model.h \
	examples/infer/models.c examples/infer/models.h \
	examples/infer/resnet50.c \
	examples/infer/mobilenetv2.c \
	examples/infer/bert.c \
	examples/infer/unet.c
# Not linked with libpoolmalloc: POOLMALLOC_RUNTIME_LINK finds the planner at
# run time under LD_PRELOAD=libpoolmalloc.so, and falls back to one malloc()
# per tensor without it.
examples_infer_infer_CPPFLAGS = $(AM_CPPFLAGS) -DPOOLMALLOC_RUNTIME_LINK \
	-DINFER_DEFAULT_WEIGHTS='"$(abs_top_srcdir)/examples/infer/lenet5.weights"'
examples_infer_infer_LDADD = -lz -lm

EXTRA_DIST += \
	examples/infer/README.md \
	examples/infer/train.py \
	examples/infer/lenet5.weights

infer_tests = \
	tests/integration/infer_same_logits.sh \
	tests/integration/infer_accuracy.sh \
	tests/integration/infer_bad_input.sh \
	tests/integration/infer_models.sh
if HAVE_ZLIB
TESTS += $(infer_tests)
endif
EXTRA_DIST += $(infer_tests) tests/integration/infer_common.sh

# make demo: LeNet-5 on the Fashion-MNIST test set with the library
# preloaded (its statistics on exit), then the plans of the four published
# networks at batch 1 and 8.
demo: libpoolmalloc.la $(demo_programs)
	@test -n '$(demo_programs)' || { echo 'make demo: the infer example needs zlib: apt-get install zlib1g-dev, then ./configure again' >&2; exit 1; }
	LD_PRELOAD='$(abs_top_builddir)/.libs/libpoolmalloc.so' POOLMALLOC_STATS=text \
	  ./examples/infer/infer
	LD_PRELOAD='$(abs_top_builddir)/.libs/libpoolmalloc.so' ./examples/infer/infer --model all

# make train-weights: retrain the committed weights (about 10 minutes on two
# cores). Debian's python3-numpy lives in /usr/bin/python3's path.
train_python = /usr/bin/python3
train-weights:
	$(train_python) $(srcdir)/examples/infer/train.py --out $(srcdir)/examples/infer/lenet5.weights
.PHONY: train-weights
