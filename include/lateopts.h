/*  lateopts.h — the newcomer's trap of trigger and call: zcnc's own
    options written after TARGET:COMMAND (`zcnc trigger n9:true -t 2`)
    are words of the remote command, which then runs `true -t 2` while
    zcnc waits its default 60 s. This module tells whether the last
    words of a command line read as such options, so that the command
    can warn (an error would break remote commands that take the same
    letters, such as `ls -t`).
*/
#ifndef ZC_LATEOPTS_H
#define ZC_LATEOPTS_H
#include <stdbool.h>

//  Of 'count' words (those after TARGET:COMMAND's own word, or after a
//  call's FUNCTION), the index of the first word of the longest trailing
//  run that reads as options of trigger (of call when 'call': it has no
//  --stream), each with a valid value: -t SECS, --timeout SECS, -c FILE,
//  --config FILE, --async, --json, --stream, --where KEY=GLOB, --schedule
//  INTERVAL,TOTAL, -h, --help (also -tSECS and --name=VALUE). -1 when the
//  words do not end in such a run. Only the last 32 words are looked at.
int zc_lateopts_find (int count, char *const words [], bool call);

int zc_lateopts_test (bool verbose);
#endif
