/*
 * sys.c - the fault counters behind the system-call seam (sys.h).
 */
#include <sys/epoll.h>

#include "core/sys.h"

_Thread_local int cio__sys_armed;
int cio__sys_fault_threads __attribute__((visibility("hidden")));

/* Sets this thread's armed flag and keeps the count of armed threads. */
static void set_armed(int on)
{
    if (on == cio__sys_armed)
        return;
    cio__sys_armed = on;
    __atomic_fetch_add(&cio__sys_fault_threads, on ? 1 : -1,
                       __ATOMIC_RELAXED);
}

static _Thread_local struct {
    long calls[CIO__SYS_NKINDS];
    long first[CIO__SYS_NKINDS]; /* 0: not armed */
    long last[CIO__SYS_NKINDS];
    int err[CIO__SYS_NKINDS];
} st;

static const char *const names[CIO__SYS_NKINDS] = {
    "recv", "send", "accept", "connect", "read", "write", "epoll_ctl",
    "io_uring_submit", "io_uring_send",
};

int cio__sys_hit(int kind)
{
    if (!cio__sys_armed)
        return 0;
    long n = ++st.calls[kind];
    if (st.first[kind] && n >= st.first[kind] && n <= st.last[kind])
        return st.err[kind];
    return 0;
}

int cio__sys_fail(int kind, long nth, int err, long times)
{
    if (kind < 0 || kind >= CIO__SYS_NKINDS || nth < 1 || err <= 0 ||
        times < 1)
        return -EINVAL;
    st.calls[kind] = 0;
    st.first[kind] = nth;
    st.last[kind] = nth + times - 1;
    st.err[kind] = err;
    set_armed(1);
    return 0;
}

void cio__sys_fail_reset(void)
{
    memset(&st, 0, sizeof(st));
    set_armed(0);
}

void cio__sys_count(void)
{
    memset(st.calls, 0, sizeof(st.calls));
    set_armed(1);
}

long cio__sys_calls(int kind)
{
    return kind >= 0 && kind < CIO__SYS_NKINDS ? st.calls[kind] : -1;
}

const char *cio__sys_name(int kind)
{
    return kind >= 0 && kind < CIO__SYS_NKINDS ? names[kind] : "?";
}

int cio__sys_epoll_ctl(int epfd, int op, int fd, struct epoll_event *e)
{
    CIO__SYS_CALL(CIO__SYS_EPOLL_CTL, epoll_ctl(epfd, op, fd, e));
}
