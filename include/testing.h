/*  testing.h — checks for the modules' self-tests.

    ZC_CHECK records a failure (with file, line and the expression, as a
    TAP diagnostic) and goes on, so one run shows every failed check.
    A self-test declares ZC_TEST_BEGIN at its top and returns ZC_TEST_END.
*/
#ifndef ZC_TESTING_H
#define ZC_TESTING_H
#include <stdio.h>

#define ZC_TEST_BEGIN int zc_test_failures_ = 0
#define ZC_TEST_END (zc_test_failures_? -1: 0)
#define ZC_CHECK(cond) do { \
        if (!(cond)) { \
            printf ("# FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            fflush (stdout); \
            zc_test_failures_++; \
        } \
    } while (0)
#define ZC_CHECK_STR(got, want) do { \
        const char *zc_got_ = (got), *zc_want_ = (want); \
        if (!zc_got_ || strcmp (zc_got_, zc_want_) != 0) { \
            printf ("# FAIL %s:%d: %s is \"%s\", want \"%s\"\n", __FILE__, __LINE__, \
                    #got, zc_got_? zc_got_: "(null)", zc_want_); \
            fflush (stdout); \
            zc_test_failures_++; \
        } \
    } while (0)
#endif
