/*
 * misuse.c - the one place a misuse of the public API is reported. Every
 * check that refuses a call for breaking a rule (a suspending call
 * outside a task, a NULL object, a loop on another thread) returns
 * CIO_MISUSE("rule") (src/internal.h): -EINVAL in every build and, in
 * debug mode, one line on stderr naming the function and the rule:
 *     cio: cio_sleep: called outside a task
 * Debug mode is the running loop's (cio_loop_set_debug, which CIO_DEBUG
 * presets) when the calling thread runs one, else CIO_DEBUG itself: a
 * call outside any loop, the commonest misuse, has no loop to ask. The
 * task layer supplies the loop and the task name through a hook, since
 * core sits below both.
 *
 * Rejected: logging from a CIO_ASSERT-like macro at each site (one copy
 * of the format per call site), and a log callback the user installs
 * (another global; stderr is what CIO_DEBUG users read).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void (*cio__misuse_hook)(int *debug, const char **task);

int cio__misuse(const char *fn, const char *rule)
{
    const char *e = getenv("CIO_DEBUG");
    int debug = e && *e && strcmp(e, "0") != 0;
    const char *task = NULL;
    if (cio__misuse_hook)
        cio__misuse_hook(&debug, &task);
    if (!debug)
        return -EINVAL;
    if (task)
        fprintf(stderr, "cio: %s: %s (in task '%s')\n", fn, rule, task);
    else
        fprintf(stderr, "cio: %s: %s\n", fn, rule);
    return -EINVAL;
}
