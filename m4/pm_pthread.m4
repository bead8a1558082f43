# pm_pthread.m4: AX_PTHREAD_SIMPLE checks that -pthread links, which is all
# glibc needs, and substitutes PTHREAD_CFLAGS/PTHREAD_LIBS for Makefile.am.
AC_DEFUN([AX_PTHREAD_SIMPLE], [
  AC_MSG_CHECKING([whether $CC accepts -pthread])
  pm_save_CFLAGS="$CFLAGS"
  CFLAGS="$CFLAGS -pthread"
  AC_LINK_IFELSE([AC_LANG_PROGRAM([[#include <pthread.h>]], [[pthread_self();]])],
    [AC_MSG_RESULT([yes]); PTHREAD_CFLAGS="-pthread"; PTHREAD_LIBS="-pthread"],
    [AC_MSG_RESULT([no]); AC_MSG_ERROR([a POSIX threads compiler flag is required])])
  CFLAGS="$pm_save_CFLAGS"
  AC_SUBST([PTHREAD_CFLAGS])
  AC_SUBST([PTHREAD_LIBS])
])
