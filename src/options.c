/* options.c: every tunable in one table, read once at init.
 *
 * Each option can be set in POOLMALLOC_CONF ("decay_ms:1000,limit:2G") or
 * through its own variable POOLMALLOC_<NAME> (POOLMALLOC_STATS=json); the
 * dedicated variable wins. A bad name or value gets a one-line warning and
 * is ignored: the option keeps its default, or the value set before it.
 * getenv does not allocate, so this is safe inside the first malloc. */
#include <string.h>

#include "internal.h"

pm_options_t _pm_options;

typedef enum option_type_e {
  OPTION_UINT,
  OPTION_SIZE,
  OPTION_CHOICE, /* one of the words in choices: its index is the value */
  OPTION_PATH,
  OPTION_BOOL
} option_type_t;

/* An option's own variable is POOLMALLOC_ and its name in capitals. */
#define OPTION_NAME_MAX 24
#define OPTION_COUNT    10 /* entries in option_table.options; init checks each is filled */

typedef struct option_s {
  char name[OPTION_NAME_MAX];
  option_type_t type;
  uint64_t default_value;
  void *value;
  const char *choices; /* OPTION_CHOICE: "a|b|c"; "b/x" names one value twice */
  uint64_t least;      /* OPTION_SIZE: the smallest value accepted but 0 */
} option_t;

/* Everything the options pass reads when a program sets no option lives in
 * this one object, names included. It holds pointers, so it lies with the
 * relocated data that ld.so has already paged in. Were the names string
 * literals, the first getenv would read the read-only data segment, and the
 * kernel's fault-around would map all of it (strings and unwind tables, 5
 * pages) into every process for nothing. */
static const struct {
  char prefix[sizeof "POOLMALLOC_"];
  char conf[sizeof "conf"]; /* POOLMALLOC_CONF: "name:value,name:value" */
  option_t options[OPTION_COUNT];
} option_table = {
    "POOLMALLOC_",
    "conf",
    {
        /* free memory idle this many ms is returned to the OS */
        {"decay_ms", OPTION_UINT, 1000, &_pm_options.decay_ms, NULL, 0},
        /* free memory kept beyond this many bytes is returned at once. 128M:
         * two threads cycling large blocks of 64K-8M (bench large-threads)
         * hold 65-90M of free runs between uses, so at 64M the cap threw
         * away pages they were about to reuse: 1.8x the page faults and
         * 1.7x the time, for 2% less peak RSS. */
        {"retain_max", OPTION_SIZE, (uint64_t)128 << 20, &_pm_options.retain_max, NULL, 0},
        /* most bytes the allocator maps (0 = no limit); past it, NULL + ENOMEM.
         * Small and large blocks come from 32 MiB segments, so a limit below
         * one would refuse every allocation: refused itself instead. */
        {"limit", OPTION_SIZE, 0, &_pm_options.limit, NULL, PM_SEGMENT_SIZE},
        /* 1: a background thread returns idle memory on time, even while the
         * program sleeps; 0: only allocation and free slow paths check decay */
        {"background_thread", OPTION_BOOL, 1, &_pm_options.background_thread, NULL, 0},
        /* test hook: after this many OS mappings every further one fails (0 = off) */
        {"fail_map_after", OPTION_UINT, 0, &_pm_options.fail_map_after, NULL, 0},
        /* print statistics at exit: off, text or json; POOLMALLOC_STATS=1
         * reads as text, as mimalloc's MIMALLOC_SHOW_STATS=1 shows them */
        {"stats", OPTION_CHOICE, PM_STATS_OFF, &_pm_options.stats, "off/0|text/1|json", 0},
        /* transparent huge pages for the allocator's mappings: never, always,
         * or system (the system's policy). Never by default: under a system
         * policy of always, huge pages doubled the RSS after the free phase
         * of bench/wl-inference and wl-churn. */
        {"thp", OPTION_CHOICE, PM_PRIM_THP_NEVER, &_pm_options.thp, "system|always|never", 0},
        /* write the statistics here instead of stderr; %p = pid */
        {"stats_file", OPTION_PATH, 0, &_pm_options.stats_file, NULL, 0},
        /* 1: the planner checks every plan for overlaps and alignment before
         * handing it out (the planner's tests turn it on; debug builds
         * always check) */
        {"validate_plans", OPTION_BOOL, 0, &_pm_options.validate_plans, NULL, 0},
        /* bytes of freed large blocks (up to a quarter of this each) a
         * thread keeps for its own next requests, without the pool's lock
         * (0 = off) */
        {"large_cache", OPTION_SIZE, (uint64_t)4 << 20, &_pm_options.large_cache, NULL, 0},
    },
};

PM_COLD int _pm_options_parse_size(const char *text, size_t len, uint64_t *out) {
  if (len == 0) return -1;
  uint64_t value = 0;
  size_t i = 0;
  for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
    uint64_t digit = (uint64_t)(text[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) return -1;
    value = value * 10 + digit;
  }
  if (i == 0) return -1;
  unsigned shift = 0;
  if (i < len) {
    switch (text[i] | 0x20) { /* either case */
    case 'k':
      shift = 10;
      break;
    case 'm':
      shift = 20;
      break;
    case 'g':
      shift = 30;
      break;
    default:
      return -1;
    }
    i++;
    if (i < len && (text[i] | 0x20) == 'b') i++; /* "64MB" reads as "64M" */
  }
  if (i != len) return -1;
  if (shift != 0 && value > (UINT64_MAX >> shift)) return -1;
  *out = value << shift;
  return 0;
}

/* The value text names among choices, or -1. */
static int choice_index(const char *choices, const char *text, size_t len) {
  int index = 0;
  for (const char *at = choices;; at++) {
    size_t name_len = strcspn(at, "|/");
    if (name_len == len && memcmp(at, text, len) == 0) return index;
    at += name_len;
    if (*at == '\0') return -1;
    if (*at == '|') index++;
  }
}

/* 0 when the value was taken, OPTION_INVALID or OPTION_TOO_SMALL when not. */
enum { OPTION_INVALID = -1, OPTION_TOO_SMALL = -2 };

static int option_parse(const option_t *option, const char *text, size_t len) {
  uint64_t number;
  switch (option->type) {
  case OPTION_UINT:
    for (size_t i = 0; i < len; i++)
      if (text[i] < '0' || text[i] > '9') return OPTION_INVALID;
    /* plain digits parse the same way as a size */
    __attribute__((fallthrough));
  case OPTION_SIZE:
    if (_pm_options_parse_size(text, len, &number) != 0) return OPTION_INVALID;
    if (number != 0 && number < option->least) return OPTION_TOO_SMALL;
    *(uint64_t *)option->value = number;
    return 0;
  case OPTION_CHOICE: {
    int index = choice_index(option->choices, text, len);
    if (index < 0) return OPTION_INVALID;
    *(uint64_t *)option->value = (uint64_t)index;
    return 0;
  }
  case OPTION_BOOL:
    if (len != 1 || (text[0] != '0' && text[0] != '1')) return OPTION_INVALID;
    *(uint64_t *)option->value = (uint64_t)(text[0] - '0');
    return 0;
  case OPTION_PATH: /* empty: the default (stats_file: stderr) */
    if (len >= sizeof _pm_options.stats_file) return OPTION_INVALID;
    memcpy(option->value, text, len);
    ((char *)option->value)[len] = '\0';
    return 0;
  }
  return OPTION_INVALID;
}

static void option_set_default(const option_t *option) {
  if (option->type == OPTION_PATH)
    ((char *)option->value)[0] = '\0';
  else
    *(uint64_t *)option->value = option->default_value;
}

/* Copies at most 64 bytes of text, never half a UTF-8 sequence; returns
 * how many. */
static size_t copy_at_most_64(char *to, const char *text, size_t len) {
  if (len > 64) {
    len = 64;
    while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80) /* a continuation byte */
      len--;
  }
  memcpy(to, text, len);
  return len;
}

/* what + "name" or "name:value" + "; ignored" on one line (_pm_warn shows
 * control characters as '?'). */
PM_COLD static void option_warn(const char *what, const char *name, size_t name_len,
                                const char *value, size_t value_len) {
  char quoted[160];
  size_t len = copy_at_most_64(quoted, name, name_len);
  if (value != NULL) {
    quoted[len++] = ':';
    len += copy_at_most_64(quoted + len, value, value_len);
  }
  quoted[len] = '\0';
  _pm_warn(what, quoted, "; ignored");
}

PM_COLD static void option_set(const char *name, size_t name_len, const char *value,
                               size_t value_len) {
  for (size_t i = 0; i < OPTION_COUNT; i++) {
    const option_t *option = &option_table.options[i];
    if (strlen(option->name) != name_len || memcmp(option->name, name, name_len) != 0) continue;
    /* option_parse writes nothing when it fails */
    int status = option_parse(option, value, value_len);
    if (status == OPTION_TOO_SMALL)
      option_warn("value below one segment (32M) for option ", name, name_len, value, value_len);
    else if (status != 0)
      option_warn("invalid value for option ", name, name_len, value, value_len);
    return;
  }
  option_warn("unknown option ", name, name_len, NULL, 0);
}

PM_COLD void _pm_options_apply_conf(const char *conf) {
  const char *at = conf;
  while (*at != '\0') {
    const char *end = strchr(at, ',');
    size_t len = end ? (size_t)(end - at) : strlen(at);
    const char *colon = memchr(at, ':', len);
    if (len > 0) {
      if (colon == NULL)
        option_warn("option without a value (want name:value) ", at, len, NULL, 0);
      else if (colon == at)
        option_warn("option without a name (want name:value) ", at, len, NULL, 0);
      else
        option_set(at, (size_t)(colon - at), colon + 1, len - (size_t)(colon - at) - 1);
    }
    at += len;
    if (*at == ',') at++;
  }
}

/* Looks up POOLMALLOC_<NAME> for a lower-case name. */
static const char *option_getenv(const char *name) {
  char variable[sizeof option_table.prefix + OPTION_NAME_MAX];
  size_t at = 0;
  for (const char *c = option_table.prefix; *c; c++)
    variable[at++] = *c;
  for (const char *c = name; *c; c++)
    variable[at++] = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
  variable[at] = '\0';
  return _pm_prim_getenv(variable);
}

void _pm_options_init(void) {
  for (size_t i = 0; i < OPTION_COUNT; i++) {
    /* A name of exactly OPTION_NAME_MAX characters compiles, without its NUL. */
    if (option_table.options[i].value == NULL ||
        memchr(option_table.options[i].name, '\0', OPTION_NAME_MAX) == NULL)
      _pm_fatal("option_table: fewer than OPTION_COUNT options, or a name too long");
    option_set_default(&option_table.options[i]);
  }
  const char *conf = option_getenv(option_table.conf);
  if (conf != NULL) _pm_options_apply_conf(conf);
  for (size_t i = 0; i < OPTION_COUNT; i++) {
    const char *name = option_table.options[i].name;
    const char *value = option_getenv(name);
    if (value != NULL) option_set(name, strlen(name), value, strlen(value));
  }
}
