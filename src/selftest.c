/*  selftest.c — runs every module's self-test: zcnc-selftest [-v] [MODULE...] */
#include <stdio.h>
#include <string.h>
#include <czmq.h>
#include "log.h"
#include "prelude.h"
#include "zpl.h"
#include "audit.h"
#include "bulk.h"
#include "flow.h"
#include "subject.h"
#include "pubseal.h"
#include "publine.h"
#include "hubsub.h"
#include "pubsub.h"
#include "follow.h"
#include "collect.h"
#include "errqueue.h"
#include "errlog.h"
#include "lastseq.h"
#include "seal.h"
#include "commit.h"
#include "config.h"
#include "dirs.h"
#include "dirwatch.h"
#include "id.h"
#include "jsonout.h"
#include "jsonparse.h"
#include "target.h"
#include "keys.h"
#include "zap.h"
#include "enroll.h"
#include "init.h"
#include "facts.h"
#include "wire.h"
#include "exec.h"
#include "httpget.h"
#include "message.h"
#include "readfolder.h"
#include "replyto.h"
#include "startup.h"
#include "routes.h"
#include "waiters.h"
#include "streamout.h"
#include "streamin.h"
#include "prefixer.h"
#include "term.h"
#include "lateopts.h"
#include "meshdot.h"
#include "shellline.h"
#include "copy.h"
#include "curlapi.h"
#include "dynlib.h"
#include "editapi.h"
#include "sha256.h"
#include "hub.h"
#include "agent.h"
#include "directory.h"
#include "delivery.h"
#include "runner.h"
#include "schedule.h"
#include "store.h"
#include "policy.h"
#include "testbed.h"
#include "metrics.h"
#include "httpserve.h"
#include "hubctl.h"
#include "agentmetrics.h"

static struct {
    const char *name;
    int (*test) (bool verbose);
} s_tests [] = {
    { "zpl", zc_zpl_test },
    { "config", zc_config_test },
    { "dirs", zc_dirs_test },
    { "dirwatch", zc_dirwatch_test },
    { "id", zc_id_test },
    { "target", zc_target_test },
    { "keys", zc_keys_test },
    { "zap", zc_zap_test },
    { "enroll", zc_enroll_test },
    { "init", zc_init_test },
    { "facts", zc_facts_test },
    { "wire", zc_wire_test },
    { "exec", zc_exec_test },
    { "httpget", zc_httpget_test },
    { "message", zc_message_test },
    { "readfolder", zc_readfolder_test },
    { "replyto", zc_replyto_test },
    { "startup", zc_startup_test },
    { "directory", zc_directory_test },
    { "delivery", zc_delivery_test },
    { "schedules", zc_schedules_test },
    { "runner", zc_runner_test },
    { "store", zc_store_test },
    { "commit", zc_commit_test },
    { "audit", zc_audit_test },
    { "jsonout", zc_jsonout_test },
    { "jsonparse", zc_jsonparse_test },
    { "routes", zc_routes_test },
    { "waiters", zc_waiters_test },
    { "flow", zc_flow_test },
    { "subject", zc_subject_test },
    { "bulk", zc_bulk_test },
    { "seal", zc_seal_test },
    { "pubseal", zc_pubseal_test },
    { "publine", zc_publine_test },
    { "hubsub", zc_hubsub_test },
    { "pubsub", zc_pubsub_test },
    { "follow", zc_follow_test },
    { "collect", zc_collect_test },
    { "errqueue", zc_errqueue_test },
    { "errlog", zc_errlog_test },
    { "lastseq", zc_lastseq_test },
    { "streamout", zc_streamout_test },
    { "streamin", zc_streamin_test },
    { "prefixer", zc_prefixer_test },
    { "term", zc_term_test },
    { "lateopts", zc_lateopts_test },
    { "meshdot", zc_meshdot_test },
    { "shellline", zc_shell_line_test },
    { "sha256", zc_sha256_test },
    { "copy", zc_copy_test },
    { "dynlib", zc_dynlib_test },
    { "curlapi", zc_curlapi_test },
    { "editapi", zc_editapi_test },
    { "policy", zc_policy_test },
    { "metrics", zc_metrics_test },
    { "httpserve", zc_httpserve_test },
    { "hubctl", zc_hubctl_test },
    { "agentmetrics", zc_agentmetrics_test },
    { "hub", zc_hub_test },
    { "agent", zc_agent_test },
    { "mesh", zc_mesh_test },
};

int
main (int argc, char *argv [])
{
    bool verbose = false;
    int argn = 1;
    if (argn < argc && strcmp (argv [argn], "-v") == 0) {
        verbose = true;
        argn++;
    }
    zc_alloc_init ();
    zc_log_init ("zcnc-selftest", verbose);
    zsys_init ();
    zsys_handler_set (NULL);
    int failed = 0, passed = 0;
    size_t count = sizeof s_tests / sizeof s_tests [0];
    //  TAP output, so automake's driver can count each module.
    printf ("1..%zu\n", count);
    for (size_t index = 0; index < count; index++) {
        bool wanted = argn == argc;
        for (int arg = argn; arg < argc; arg++)
            if (strcmp (argv [arg], s_tests [index].name) == 0)
                wanted = true;
        if (!wanted) {
            printf ("ok %zu - %s # SKIP not selected\n", index + 1, s_tests [index].name);
            continue;
        }
        int rc = s_tests [index].test (verbose);
        printf ("%s %zu - %s\n", rc == 0? "ok": "not ok", index + 1, s_tests [index].name);
        fflush (stdout);
        if (rc == 0) passed++; else failed++;
    }
    zsys_shutdown ();
    return failed? 1: 0;
}
