# src/local.mk: build rules for src/, included by the top-level Makefile.am.
