/*  replay.c — runs a libFuzzer target over saved inputs, without clang.

    Linked with one fuzz target (its LLVMFuzzerTestOneInput) into a plain
    program: `fuzz-replay-wire DIR|FILE...` gives every regular file of
    each directory (in name order; dot files and README skipped), and
    each file named, to the target once. A target that finds a fault
    aborts, so a crash input kept under tests/fuzz/regress/ fails `make
    check` again if its bug comes back; under valgrind, so does a bad
    memory access. Prints one line per argument: how many inputs it
    replayed; on a crash, the input's path on stderr.
    Exit status: 0, or 2 when an argument cannot be read.
*/
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t *input, size_t size);
//  Optional in a target, as in libFuzzer.
int LLVMFuzzerInitialize (int *argc, char ***argv) __attribute__ ((weak));

static char s_current [4096];           //  the input being replayed

//  Names the input that crashed, then dies of the same signal.
static void
s_on_crash (int signal)
{
    const char *text [] = { "replay: crashed on ", s_current, "\n" };
    for (size_t index = 0; index < 3; index++)
        if (write (STDERR_FILENO, text [index], strlen (text [index])) < 0)
            break;
    raise (signal);                     //  SA_RESETHAND: the default action
}

//  Gives one file's bytes to the target. Returns 0, or -1 when the file
//  cannot be read.
static int
s_replay_file (const char *path)
{
    FILE *file = fopen (path, "rb");
    if (!file) {
        fprintf (stderr, "replay: cannot open %s: %s\n", path, strerror (errno));
        return -1;
    }
    uint8_t *input = NULL;
    size_t size = 0, capacity = 0;
    while (!feof (file) && !ferror (file)) {
        if (size == capacity) {
            capacity = capacity? capacity * 2: 65536;
            input = realloc (input, capacity);
            if (!input) {
                fprintf (stderr, "replay: %s: out of memory\n", path);
                fclose (file);
                return -1;
            }
        }
        size += fread (input + size, 1, capacity - size, file);
    }
    int failed = ferror (file);
    fclose (file);
    if (failed) {
        fprintf (stderr, "replay: cannot read %s\n", path);
        free (input);
        return -1;
    }
    //  An exact-size copy, so that a read past the end is caught.
    uint8_t *exact = malloc (size? size: 1);
    if (size)
        memcpy (exact, input, size);
    free (input);
    snprintf (s_current, sizeof s_current, "%s", path);
    LLVMFuzzerTestOneInput (exact, size);
    free (exact);
    return 0;
}

static int
s_compare_names (const struct dirent **a, const struct dirent **b)
{
    return strcmp ((*a)->d_name, (*b)->d_name);
}

//  Replays every regular file of a directory. Returns the count, or -1.
static int
s_replay_dir (const char *dir)
{
    struct dirent **entries;
    int count = scandir (dir, &entries, NULL, s_compare_names);
    if (count < 0) {
        fprintf (stderr, "replay: cannot list %s: %s\n", dir, strerror (errno));
        return -1;
    }
    int replayed = 0, rc = 0;
    for (int index = 0; index < count; index++) {
        const char *name = entries [index]->d_name;
        char path [4096];
        struct stat info;
        if (name [0] != '.' && strcmp (name, "README") != 0
        &&  snprintf (path, sizeof path, "%s/%s", dir, name) < (int) sizeof path
        &&  stat (path, &info) == 0 && S_ISREG (info.st_mode)) {
            if (s_replay_file (path) == 0)
                replayed++;
            else
                rc = -1;
        }
        free (entries [index]);
    }
    free (entries);
    return rc == 0? replayed: -1;
}

int
main (int argc, char *argv [])
{
    if (argc < 2) {
        fprintf (stderr, "usage: %s DIR|FILE...\n", argv [0]);
        return 2;
    }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize (&argc, &argv);
    struct sigaction action = { .sa_handler = s_on_crash, .sa_flags = SA_RESETHAND };
    int signals [] = { SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL };
    for (size_t index = 0; index < sizeof signals / sizeof signals [0]; index++)
        sigaction (signals [index], &action, NULL);
    int rc = 0;
    for (int index = 1; index < argc; index++) {
        struct stat info;
        int replayed = -1;
        if (stat (argv [index], &info) != 0)
            fprintf (stderr, "replay: cannot open %s: %s\n", argv [index], strerror (errno));
        else
        if (S_ISDIR (info.st_mode))
            replayed = s_replay_dir (argv [index]);
        else
            replayed = s_replay_file (argv [index]) == 0? 1: -1;
        if (replayed < 0)
            rc = 2;
        else
            printf ("replay: %s: %d inputs\n", argv [index], replayed);
        fflush (stdout);
    }
    return rc;
}
