/* plan_test.h: what the planner's test suites share.
 *
 * Every plan these tests make must also pass the planner's own overlap and
 * alignment check. The library reads its validate_plans option once, when
 * it starts, so the check is asked for in the environment (make check,
 * check-sanitize and check-valgrind set POOLMALLOC_VALIDATE_PLANS=1); a run
 * by hand without it would test less, so it fails and says why. */
#ifndef PM_PLAN_TEST_H
#define PM_PLAN_TEST_H

#include <criterion/criterion.h>
#include <stdlib.h>

static inline void plan_test_require_validation(void) {
  const char *value = getenv("POOLMALLOC_VALIDATE_PLANS");
  cr_assert(value != NULL && value[0] == '1' && value[1] == '\0',
            "run with POOLMALLOC_VALIDATE_PLANS=1 (make check sets it) so that every plan is "
            "checked");
}

#endif /* PM_PLAN_TEST_H */
