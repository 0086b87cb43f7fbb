/*  metrics.h — Prometheus's text exposition format (version 0.0.4): the
    page a scraper reads from `metrics =` (zcnc.conf(5)).

    A page is built family by family: zc_metrics_family names a metric,
    says whether it is a counter or a gauge and what it means (the HELP
    and TYPE lines), and the samples that follow belong to it, each with
    at most one label. Names and label names are the program's own (an
    invalid one is a programmer error, asserted); label values come from
    the network and config (node and hub names) and are escaped. A
    counter's name ends in _total.
*/
#ifndef ZC_METRICS_H
#define ZC_METRICS_H
#include <stdbool.h>
#include <stddef.h>

//  The Content-Type of the page.
#define ZC_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct _zc_metrics_t zc_metrics_t;

typedef enum { ZC_METRIC_COUNTER, ZC_METRIC_GAUGE } zc_metric_type_t;

zc_metrics_t *zc_metrics_new (void);
void zc_metrics_destroy (zc_metrics_t **self_p);

//  Starts a family: its HELP and TYPE lines. A name appears once a page.
void zc_metrics_family (zc_metrics_t *self, const char *name, zc_metric_type_t type, const char *help);
//  A sample of the current family, without labels.
void zc_metrics_value (zc_metrics_t *self, double value);
//  A sample of the current family with one label: name{label="value"}.
void zc_metrics_labelled (zc_metrics_t *self, const char *label, const char *value, double number);
//  A family with one sample, in one call.
void zc_metrics_one (zc_metrics_t *self, const char *name, zc_metric_type_t type, const char *help,
                     double value);
//  The process's own families (Prometheus's client-library names, so
//  that standard dashboards work): process_cpu_seconds_total,
//  process_resident_memory_bytes, process_open_fds,
//  process_start_time_seconds. What cannot be read is left out.
void zc_metrics_process (zc_metrics_t *self);

//  The page so far (owned by self, valid until the next call) and its size.
const char *zc_metrics_text (zc_metrics_t *self, size_t *size);

int zc_metrics_test (bool verbose);
#endif
