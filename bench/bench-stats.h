/*  bench-stats.h — timing and percentiles shared by the benchmarks. */
#ifndef ZC_BENCH_STATS_H
#define ZC_BENCH_STATS_H
#include <math.h>
#include <time.h>

//  Milliseconds on the monotonic clock, with sub-microsecond resolution.
static inline double
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1e3 + now.tv_nsec / 1e6;
}

//  qsort order for doubles.
static inline int
s_compare (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

//  The nearest-rank percentile of sorted samples.
static inline double
s_percentile (const double *sorted, int count, double fraction)
{
    int rank = (int) ceil (fraction * count);
    return sorted [rank > 0? rank - 1: 0];
}
#endif
