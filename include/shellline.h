/*  shellline.h — what one line of `zcnc shell` asks for (zcnc(1), "zcnc
    shell"): a trigger `TARGET: COMMAND`, `sub SUBJECT`, `unsub SUBJECT`,
    `pub SUBJECT [DATA]`, `nodes`, `jobs [ID]`, `presence on|off`, `help`,
    `quit` or `exit`. Parsing and completion contexts only, no I/O:
    shell.c carries a line out.
*/
#ifndef ZC_SHELLLINE_H
#define ZC_SHELLLINE_H
#include <stdbool.h>
#include <stddef.h>

typedef enum {
    ZC_SHELL_EMPTY,             //  blank, or a # comment
    ZC_SHELL_TRIGGER,           //  target, command
    ZC_SHELL_SUB,               //  subject
    ZC_SHELL_UNSUB,             //  subject
    ZC_SHELL_PUB,               //  subject, data ("" when absent)
    ZC_SHELL_NODES,
    ZC_SHELL_JOBS,              //  id, or NULL for every job
    ZC_SHELL_PRESENCE,          //  on
    ZC_SHELL_HELP,
    ZC_SHELL_QUIT,
    ZC_SHELL_BAD                //  error
} zc_shell_kind_t;

//  A parsed line. Fields not used by its kind are NULL.
typedef struct {
    zc_shell_kind_t kind;
    char *target;               //  blanks around its commas removed
    char *command;
    char *subject;
    char *data;
    char *id;
    bool on;
    char *error;                //  what is wrong and how to write it
} zc_shell_line_t;

//  Longest line the shell takes, in bytes (a socket request is 64 KiB).
#define ZC_SHELL_LINE_MAX 16384

//  Parses one line (without its newline). Never NULL: a line that is
//  not understood comes back as ZC_SHELL_BAD with its error. The caller
//  destroys it.
zc_shell_line_t *zc_shell_line_parse (const char *text);
void zc_shell_line_destroy (zc_shell_line_t **self_p);

//  The shell's own words (NULL-terminated), for help and completion.
const char *const *zc_shell_line_words (void);

//  What the word before the cursor may be completed with.
typedef enum {
    ZC_SHELL_COMPLETE_NONE,     //  nothing (a command's text, a subject...)
    ZC_SHELL_COMPLETE_FIRST,    //  a shell word or a node name (the first word)
    ZC_SHELL_COMPLETE_NODE      //  a node name (a later item of a target list)
} zc_shell_complete_t;

//  Looks at the text before the cursor: returns what its last word may
//  be completed with and sets *word to where that word starts.
zc_shell_complete_t zc_shell_line_complete (const char *before, size_t *word);

int zc_shell_line_test (bool verbose);
#endif
