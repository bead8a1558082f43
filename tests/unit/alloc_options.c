/* alloc_options.c: POOLMALLOC_CONF parsing: values, size suffixes, and a
 * one-line warning that keeps the default for anything invalid; the thp
 * option's advice on new mappings. */
#include <stdio.h>
#include <stdlib.h>

#include "alloc_test.h"

TestSuite(alloc_options, .timeout = 30);

Test(alloc_options, sizes_take_suffixes) {
  uint64_t v = 0;
  cr_assert_eq(_pm_options_parse_size("123", 3, &v), 0);
  cr_assert_eq(v, 123);
  cr_assert_eq(_pm_options_parse_size("64K", 3, &v), 0);
  cr_assert_eq(v, 64u << 10);
  cr_assert_eq(_pm_options_parse_size("2m", 2, &v), 0);
  cr_assert_eq(v, 2u << 20);
  cr_assert_eq(_pm_options_parse_size("3G", 2, &v), 0);
  cr_assert_eq(v, (uint64_t)3 << 30);
  cr_assert_eq(_pm_options_parse_size("16MB", 4, &v), 0);
  cr_assert_eq(v, 16u << 20);
  cr_assert_eq(_pm_options_parse_size("", 0, &v), -1);
  cr_assert_eq(_pm_options_parse_size("K", 1, &v), -1);
  cr_assert_eq(_pm_options_parse_size("12X", 3, &v), -1);
  cr_assert_eq(_pm_options_parse_size("99999999999999999999", 20, &v), -1);
  cr_assert_eq(_pm_options_parse_size("99999999999G", 12, &v), -1);
}

Test(alloc_options, conf_sets_every_option) {
  _pm_options_apply_conf(
      "decay_ms:250,retain_max:8M,limit:2G,stats:json,stats_file:/tmp/s.%p,background_thread:0,"
      "thp:system,validate_plans:1,large_cache:1M");
  cr_assert_eq(_pm_options.background_thread, 0);
  cr_assert_eq(_pm_options.large_cache, 1u << 20);
  cr_assert_eq(_pm_options.validate_plans, 1);
  cr_assert_eq(_pm_options.decay_ms, 250);
  cr_assert_eq(_pm_options.retain_max, 8u << 20);
  cr_assert_eq(_pm_options.limit, (uint64_t)2 << 30);
  cr_assert_eq(_pm_options.stats, PM_STATS_MODE_JSON);
  cr_assert_str_eq(_pm_options.stats_file, "/tmp/s.%p");
  cr_assert_eq(_pm_options.thp, PM_PRIM_THP_SYSTEM);
  _pm_options_apply_conf("stats:0,thp:always");
  cr_assert_eq(_pm_options.stats, PM_STATS_OFF, "0 names off too");
  _pm_options_apply_conf("stats:1");
  cr_assert_eq(_pm_options.stats, PM_STATS_MODE_TEXT, "1 names text too");
  cr_assert_eq(_pm_options.thp, PM_PRIM_THP_ALWAYS);
}

Test(alloc_options, environment_is_read_at_init) {
  setenv("POOLMALLOC_CONF", "decay_ms:42,limit:1G", 1);
  setenv("POOLMALLOC_STATS", "text", 1);
  setenv("POOLMALLOC_LIMIT", "3G", 1); /* the dedicated variable wins */
  setenv("POOLMALLOC_VALIDATE_PLANS", "0", 1);
  _pm_options_init();
  cr_assert_eq(_pm_options.validate_plans, 0, "make check sets it to 1; the test's own 0 wins");
  cr_assert_eq(_pm_options.decay_ms, 42);
  cr_assert_eq(_pm_options.limit, (uint64_t)3 << 30);
  cr_assert_eq(_pm_options.stats, PM_STATS_MODE_TEXT);
  cr_assert_eq(_pm_options.retain_max, 128u << 20, "unset options keep their default");
  cr_assert_eq(_pm_options.thp, PM_PRIM_THP_NEVER, "no transparent huge pages by default");
}

static void apply(void *conf) {
  _pm_options_apply_conf(conf);
}

static void expect_warning(const char *conf, const char *line) {
  char out[512];
  int status;
  pm_test_capture(apply, (void *)conf, out, sizeof out, &status);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  cr_assert_str_eq(out, line);
}

Test(alloc_options, invalid_input_warns_once_and_is_ignored) {
  expect_warning("decay_ms:soon", "poolmalloc: invalid value for option decay_ms:soon; ignored\n");
  expect_warning("colour:blue", "poolmalloc: unknown option colour; ignored\n");
  expect_warning("limit", "poolmalloc: option without a value (want name:value) limit; ignored\n");
  expect_warning(":json", "poolmalloc: option without a name (want name:value) :json; ignored\n");
  expect_warning("background_thread:yes",
                 "poolmalloc: invalid value for option background_thread:yes; ignored\n");
  expect_warning("stats:yaml", "poolmalloc: invalid value for option stats:yaml; ignored\n");
  expect_warning("thp:madvise", "poolmalloc: invalid value for option thp:madvise; ignored\n");
  /* Below one segment every small or large block would be refused. */
  expect_warning("limit:20M",
                 "poolmalloc: value below one segment (32M) for option limit:20M; ignored\n");
  /* Control characters would break the line or reach the terminal. */
  expect_warning("stats:x\npoolmalloc: forged\x1b[2J",
                 "poolmalloc: invalid value for option stats:x?poolmalloc: forged?[2J; ignored\n");
  /* So would C1 controls (NEL; CSI, as UTF-8 and as a stray byte) and
   * U+2028, each one '?'; other UTF-8 is kept. */
  expect_warning("stats:a\xc2\x85"
                 "b\xe2\x80\xa8"
                 "c\xc2\x9b"
                 "31m\x9b"
                 "d\xc3\xa9",
                 "poolmalloc: invalid value for option stats:a?b?c?31m?d\xc3\xa9; ignored\n");
  /* A value cut at 64 bytes loses a character that straddles the cut whole. */
  expect_warning(
      "stats:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\xc3\xa9",
      "poolmalloc: invalid value for option "
      "stats:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; ignored\n");
  _pm_options_apply_conf("limit:32M");
  cr_assert_eq(_pm_options.limit, (uint64_t)32 << 20, "one segment is a limit");
  _pm_options_apply_conf("limit:20M");
  cr_assert_eq(_pm_options.limit, (uint64_t)32 << 20, "a limit below it leaves the earlier one");
  _pm_options_apply_conf("decay_ms:77");
  _pm_options_apply_conf("decay_ms:-5");
  cr_assert_eq(_pm_options.decay_ms, 77, "a bad value leaves the earlier setting");
}

/* In the capturing child: reads the environment, exits 3 unless the
 * POOLMALLOC_CONF values survived. */
static void init_options_keeping_conf(void *unused) {
  (void)unused;
  _pm_options_init();
  if (_pm_options.decay_ms != 77 || _pm_options.stats != PM_STATS_MODE_JSON ||
      strcmp(_pm_options.stats_file, "/tmp/s.%p") != 0)
    _exit(3);
}

/* A bad POOLMALLOC_<NAME> leaves what POOLMALLOC_CONF set, whichever value
 * type it has. */
Test(alloc_options, a_bad_variable_keeps_the_conf_value) {
  setenv("POOLMALLOC_CONF", "decay_ms:77,stats:json,stats_file:/tmp/s.%p", 1);
  setenv("POOLMALLOC_DECAY_MS", "soon", 1);
  setenv("POOLMALLOC_STATS", "yaml", 1);
  char overlong[300];
  memset(overlong, 'x', sizeof overlong - 1);
  overlong[sizeof overlong - 1] = '\0';
  setenv("POOLMALLOC_STATS_FILE", overlong, 1);
  char out[512];
  int status;
  pm_test_capture(init_options_keeping_conf, NULL, out, sizeof out, &status);
  cr_assert_str_eq(out, "poolmalloc: invalid value for option decay_ms:soon; ignored\n"
                        "poolmalloc: invalid value for option stats:yaml; ignored\n"
                        "poolmalloc: invalid value for option stats_file:"
                        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                        "; ignored\n");
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the POOLMALLOC_CONF values stay");
}

/* The VmFlags line of the mapping that holds p, from /proc/self/smaps. */
static void vm_flags_of(const void *p, char *flags, size_t size) {
  FILE *smaps = fopen("/proc/self/smaps", "r");
  cr_assert_not_null(smaps);
  char line[512];
  bool inside = false;
  flags[0] = '\0';
  while (fgets(line, sizeof line, smaps) != NULL) {
    unsigned long from, to;
    if (sscanf(line, "%lx-%lx ", &from, &to) == 2)
      inside = (uintptr_t)p >= from && (uintptr_t)p < to;
    else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
      snprintf(flags, size, "%s", line + 8);
      break;
    }
  }
  fclose(smaps);
}

static bool has_flag(const char *flags, const char *flag) {
  char padded[8];
  snprintf(padded, sizeof padded, " %s ", flag);
  char line[512];
  snprintf(line, sizeof line, " %s", flags);
  char *end = strchr(line, '\n');
  if (end != NULL) *end = ' ';
  return strstr(line, padded) != NULL;
}

/* thp:never and thp:always advise every mapping made afterwards
 * (MADV_NOHUGEPAGE, MADV_HUGEPAGE: VmFlags nh and hg); system leaves it. */
Test(alloc_options, thp_advises_new_mappings) {
  if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) != 0)
    cr_skip("this kernel has no transparent huge pages");
  static const pm_prim_thp_t modes[] = {PM_PRIM_THP_NEVER, PM_PRIM_THP_ALWAYS, PM_PRIM_THP_SYSTEM};
  char flags[512];
  for (size_t i = 0; i < 3; i++) {
    _pm_prim_set_thp(modes[i]);
    void *huge = pm_malloc(PM_TEST_HUGE_SIZE); /* a mapping of its own */
    cr_assert_not_null(huge);
    vm_flags_of(huge, flags, sizeof flags);
    cr_assert_eq(has_flag(flags, "nh"), modes[i] == PM_PRIM_THP_NEVER, "%s", flags);
    cr_assert_eq(has_flag(flags, "hg"), modes[i] == PM_PRIM_THP_ALWAYS, "%s", flags);
    pm_free(huge);
    pm_trim(0); /* no cached mapping for the next mode */
  }
}

static void init_options_with_empty_file(void *unused) {
  (void)unused;
  _pm_options_init();
  if (_pm_options.stats_file[0] != '\0') _exit(3);
}

/* An empty POOLMALLOC_STATS_FILE is the default, stderr, even over a file
 * named in POOLMALLOC_CONF. */
Test(alloc_options, an_empty_stats_file_means_stderr) {
  setenv("POOLMALLOC_CONF", "stats_file:/tmp/s.%p", 1);
  setenv("POOLMALLOC_STATS_FILE", "", 1);
  char out[512];
  int status;
  pm_test_capture(init_options_with_empty_file, NULL, out, sizeof out, &status);
  cr_assert_str_eq(out, "", "no warning");
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "stats_file is empty");
}
