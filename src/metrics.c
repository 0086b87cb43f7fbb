/*  metrics.c — Prometheus's text exposition format (see metrics.h). */
#include <assert.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <czmq.h>
#include "prelude.h"
#include "metrics.h"
#include "testing.h"

struct _zc_metrics_t {
    char *text;
    size_t size, max;
    char family [128];          //  the current family's name ("" before the first)
};

zc_metrics_t *
zc_metrics_new (void)
{
    zc_metrics_t *self = zc_calloc (1, sizeof *self);
    self->max = 4096;
    self->text = zc_malloc (self->max);
    self->text [0] = 0;
    return self;
}

void
zc_metrics_destroy (zc_metrics_t **self_p)
{
    if (*self_p) {
        free ((*self_p)->text);
        free (*self_p);
        *self_p = NULL;
    }
}

//  Appends 'size' bytes.
static void
s_append (zc_metrics_t *self, const char *bytes, size_t size)
{
    if (self->size + size + 1 > self->max) {
        while (self->size + size + 1 > self->max)
            self->max *= 2;
        self->text = zc_realloc (self->text, self->max);
    }
    memcpy (self->text + self->size, bytes, size);
    self->size += size;
    self->text [self->size] = 0;
}

static void
s_append_text (zc_metrics_t *self, const char *text)
{
    s_append (self, text, strlen (text));
}

//  True when 'name' matches [a-zA-Z_:][a-zA-Z0-9_:]* ('colon': colons
//  allowed, as in metric names; label names have none).
static bool
s_name_valid (const char *name, bool colon)
{
    if (!*name || (*name >= '0' && *name <= '9'))
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')
              || *c == '_' || (colon && *c == ':')))
            return false;
    return true;
}

//  Appends a text with the escapes the format asks of HELP text
//  (backslash and newline) and, with 'quote', of label values (also ").
static void
s_append_escaped (zc_metrics_t *self, const char *text, bool quote)
{
    for (const char *c = text; *c; c++) {
        if (*c == '\\')
            s_append_text (self, "\\\\");
        else
        if (*c == '\n')
            s_append_text (self, "\\n");
        else
        if (*c == '"' && quote)
            s_append_text (self, "\\\"");
        else
            s_append (self, c, 1);
    }
}

void
zc_metrics_family (zc_metrics_t *self, const char *name, zc_metric_type_t type, const char *help)
{
    assert (s_name_valid (name, true) && strlen (name) < sizeof self->family);
    size_t size = strlen (name);
    assert (type != ZC_METRIC_COUNTER || (size > 6 && streq (name + size - 6, "_total")));
    snprintf (self->family, sizeof self->family, "%s", name);
    s_append_text (self, "# HELP ");
    s_append_text (self, name);
    s_append_text (self, " ");
    s_append_escaped (self, help, false);
    s_append_text (self, "\n# TYPE ");
    s_append_text (self, name);
    s_append_text (self, type == ZC_METRIC_COUNTER? " counter\n": " gauge\n");
}

//  Appends " VALUE\n" as the format writes numbers.
static void
s_append_number (zc_metrics_t *self, double value)
{
    char number [64];
    if (isnan (value))
        snprintf (number, sizeof number, " NaN\n");
    else
    if (isinf (value))
        snprintf (number, sizeof number, " %sInf\n", value > 0? "+": "-");
    else
        snprintf (number, sizeof number, " %.15g\n", value);
    s_append_text (self, number);
}

void
zc_metrics_value (zc_metrics_t *self, double value)
{
    assert (*self->family);
    s_append_text (self, self->family);
    s_append_number (self, value);
}

void
zc_metrics_labelled (zc_metrics_t *self, const char *label, const char *value, double number)
{
    assert (*self->family && s_name_valid (label, false));
    s_append_text (self, self->family);
    s_append_text (self, "{");
    s_append_text (self, label);
    s_append_text (self, "=\"");
    s_append_escaped (self, value, true);
    s_append_text (self, "\"}");
    s_append_number (self, number);
}

void
zc_metrics_one (zc_metrics_t *self, const char *name, zc_metric_type_t type, const char *help,
                double value)
{
    zc_metrics_family (self, name, type, help);
    zc_metrics_value (self, value);
}

//  The first line of a /proc file, into 'line'. 0, or -1.
static int
s_read_line (const char *path, char *line, size_t size)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    bool read = fgets (line, (int) size, file) != NULL;
    fclose (file);
    return read? 0: -1;
}

//  When the process started, in seconds since the epoch: its start in
//  clock ticks after boot (/proc/self/stat) plus the boot time
//  (/proc/stat). -1 when unknown.
static double
s_start_time (void)
{
    char line [1024];
    if (s_read_line ("/proc/self/stat", line, sizeof line) != 0)
        return -1;
    //  The command name (field 2) may hold spaces: fields count from the
    //  last ')'. starttime is field 22, the 20th after it.
    char *field = strrchr (line, ')');
    for (int index = 0; field && index < 20; index++)
        field = strchr (field + 1, ' ');
    long ticks = sysconf (_SC_CLK_TCK);
    if (!field || ticks <= 0)
        return -1;
    double started = strtod (field + 1, NULL) / (double) ticks;
    FILE *file = fopen ("/proc/stat", "r");
    if (!file)
        return -1;
    double boot = -1;
    while (boot < 0 && fgets (line, sizeof line, file))
        if (strncmp (line, "btime ", 6) == 0)
            boot = strtod (line + 6, NULL);
    fclose (file);
    return boot < 0? -1: boot + started;
}

void
zc_metrics_process (zc_metrics_t *self)
{
    struct rusage usage;
    if (getrusage (RUSAGE_SELF, &usage) == 0)
        zc_metrics_one (self, "process_cpu_seconds_total", ZC_METRIC_COUNTER,
                        "User and system CPU time spent in seconds.",
                        (double) usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6
                        + (double) usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6);
    char line [256];
    unsigned long pages = 0, resident = 0;
    if (s_read_line ("/proc/self/statm", line, sizeof line) == 0
    &&  sscanf (line, "%lu %lu", &pages, &resident) == 2)
        zc_metrics_one (self, "process_resident_memory_bytes", ZC_METRIC_GAUGE,
                        "Resident memory size in bytes.", (double) resident * (double) sysconf (_SC_PAGESIZE));
    DIR *dir = opendir ("/proc/self/fd");
    if (dir) {
        size_t count = 0;
        struct dirent *entry;
        while ((entry = readdir (dir)))
            count += entry->d_name [0] != '.';
        closedir (dir);
        //  Less the one that reads the directory.
        zc_metrics_one (self, "process_open_fds", ZC_METRIC_GAUGE, "Number of open file descriptors.",
                        (double) (count? count - 1: 0));
    }
    double started = s_start_time ();
    if (started >= 0)
        zc_metrics_one (self, "process_start_time_seconds", ZC_METRIC_GAUGE,
                        "Start time of the process since unix epoch in seconds.", started);
}

const char *
zc_metrics_text (zc_metrics_t *self, size_t *size)
{
    if (size)
        *size = self->size;
    return self->text;
}

//  ---------------------------------------------------------------------
//  Self-test

//  True when every line of 'text' is a HELP or TYPE line, or a sample
//  of the family its TYPE line named, whose value parses.
static bool
s_test_well_formed (const char *text)
{
    char family [128] = "";
    const char *line = text;
    while (*line) {
        const char *end = strchr (line, '\n');
        if (!end)
            return false;
        char copy [1024];
        snprintf (copy, sizeof copy, "%.*s", (int) (end - line), line);
        if (strncmp (copy, "# TYPE ", 7) == 0) {
            char *space = strchr (copy + 7, ' ');
            if (!space || (!streq (space + 1, "counter") && !streq (space + 1, "gauge")))
                return false;
            snprintf (family, sizeof family, "%.*s", (int) (space - copy - 7), copy + 7);
        }
        else
        if (strncmp (copy, "# HELP ", 7) != 0) {
            size_t size = strlen (family);
            char *value = strrchr (copy, ' ');
            char *rest = NULL;
            if (!size || strncmp (copy, family, size) != 0 || (copy [size] != ' ' && copy [size] != '{')
            ||  !value)
                return false;
            strtod (value + 1, &rest);
            if (*rest && !streq (value + 1, "NaN") && !streq (value + 1, "+Inf"))
                return false;
        }
        line = end + 1;
    }
    return true;
}

int
zc_metrics_test (bool verbose)
{
    ZC_TEST_BEGIN;
    zc_metrics_t *metrics = zc_metrics_new ();
    ZC_CHECK_STR (zc_metrics_text (metrics, NULL), "");
    zc_metrics_one (metrics, "zcnc_test_total", ZC_METRIC_COUNTER, "Things counted.", 3);
    zc_metrics_family (metrics, "zcnc_test_up", ZC_METRIC_GAUGE, "A help\\text\nwith escapes.");
    zc_metrics_labelled (metrics, "hub", "hub1", 1);
    zc_metrics_labelled (metrics, "hub", "a\"b\\c\nd", 0);
    zc_metrics_one (metrics, "zcnc_test_big", ZC_METRIC_GAUGE, "Large and small.", 1099511627776.0);
    zc_metrics_one (metrics, "zcnc_test_small", ZC_METRIC_GAUGE, "Small.", 0.25);
    zc_metrics_one (metrics, "zcnc_test_odd", ZC_METRIC_GAUGE, "Not a number.", NAN);
    zc_metrics_one (metrics, "zcnc_test_inf", ZC_METRIC_GAUGE, "Infinite.", INFINITY);
    size_t size;
    const char *text = zc_metrics_text (metrics, &size);
    ZC_CHECK_STR (text,
        "# HELP zcnc_test_total Things counted.\n"
        "# TYPE zcnc_test_total counter\n"
        "zcnc_test_total 3\n"
        "# HELP zcnc_test_up A help\\\\text\\nwith escapes.\n"
        "# TYPE zcnc_test_up gauge\n"
        "zcnc_test_up{hub=\"hub1\"} 1\n"
        "zcnc_test_up{hub=\"a\\\"b\\\\c\\nd\"} 0\n"
        "# HELP zcnc_test_big Large and small.\n"
        "# TYPE zcnc_test_big gauge\n"
        "zcnc_test_big 1099511627776\n"
        "# HELP zcnc_test_small Small.\n"
        "# TYPE zcnc_test_small gauge\n"
        "zcnc_test_small 0.25\n"
        "# HELP zcnc_test_odd Not a number.\n"
        "# TYPE zcnc_test_odd gauge\n"
        "zcnc_test_odd NaN\n"
        "# HELP zcnc_test_inf Infinite.\n"
        "# TYPE zcnc_test_inf gauge\n"
        "zcnc_test_inf +Inf\n");
    ZC_CHECK (size == strlen (text));
    ZC_CHECK (s_test_well_formed (text));
    zc_metrics_destroy (&metrics);
    ZC_CHECK (metrics == NULL);
    zc_metrics_destroy (&metrics);

    //  The process's families, on Linux all four; a page grows past its
    //  first buffer.
    metrics = zc_metrics_new ();
    zc_metrics_process (metrics);
    text = zc_metrics_text (metrics, NULL);
    ZC_CHECK (strstr (text, "\nprocess_cpu_seconds_total ") && strstr (text, "\nprocess_resident_memory_bytes ")
              && strstr (text, "\nprocess_open_fds ") && strstr (text, "\nprocess_start_time_seconds "));
    const char *start = strstr (text, "\nprocess_start_time_seconds ");
    double started = start? strtod (start + 28, NULL): 0;
    ZC_CHECK (started > 1.5e9 && started <= (double) time (NULL) + 1);
    for (int index = 0; index < 500; index++) {
        char name [64];
        snprintf (name, sizeof name, "zcnc_test_%d_total", index);
        zc_metrics_one (metrics, name, ZC_METRIC_COUNTER, "Many.", index);
    }
    text = zc_metrics_text (metrics, &size);
    ZC_CHECK (size > 4096 && strstr (text, "\nzcnc_test_499_total 499\n"));
    ZC_CHECK (s_test_well_formed (text));
    if (verbose)
        printf ("# metrics: a page of %zu bytes; the process started at %.2f\n", size, started);
    zc_metrics_destroy (&metrics);
    return ZC_TEST_END;
}
