/*  shell.h — `zcnc shell`: an interactive prompt on the local agent's
    socket (zcnc(1), "zcnc shell"). A line is a trigger, sub/unsub/pub,
    nodes or jobs (shellline.h parses it); subscribed messages and
    presence print between prompts; Ctrl-C cancels the running job.
    With libedit on a terminal (history, completion); plain lines, for
    scripts, otherwise.
*/
#ifndef ZC_SHELL_H
#define ZC_SHELL_H

//  Runs the shell with the arguments after "shell" ([-c FILE] [-t SECS]).
//  Returns the exit status of the last line, as sh(1) does.
int zc_shell_main (int argc, char *argv []);
#endif
