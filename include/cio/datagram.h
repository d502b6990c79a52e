/*
 * cio/datagram.h - UDP datagram endpoints: asyncio's
 * loop.create_datagram_endpoint, DatagramProtocol and DatagramTransport.
 * Included by cio.h; do not include directly.
 *
 * The loop reads a readable endpoint until the kernel says EAGAIN, in
 * batches (recvmmsg), and hands each datagram to the protocol. Sends go
 * straight to the kernel; when its buffer is full they are queued (up to a
 * limit) and flushed in batches (sendmmsg) once it drains. Errors of the
 * network (ICMP port unreachable on a connected endpoint, truncated
 * datagrams, a full queue) reach error_received or the sendto call: they
 * are never fatal to the endpoint or the loop. For tasks, the awaitable
 * sockets of cio/net.h (cio_socket_recvfrom, cio_socket_sendto) work on
 * datagram sockets too.
 */
#ifndef CIO_DATAGRAM_H
#define CIO_DATAGRAM_H

#ifndef CIO_H
#error "include cio.h, not cio/datagram.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cio_datagram_transport cio_datagram_transport;

/* asyncio's DatagramProtocol. Callbacks run on the loop; t is borrowed
 * until connection_lost returns; ctx is the caller's. Any may be NULL. */
typedef struct cio_datagram_protocol {
    /* The endpoint is up (called inside cio_create_datagram_endpoint). */
    void (*connection_made)(cio_datagram_transport *t, void *ctx);
    /* One datagram of len bytes (0 is a valid length) from addr; data and
     * addr are borrowed for the call. A datagram longer than the
     * endpoint's recv_size arrives cut to it, followed by
     * error_received(-EMSGSIZE). */
    void (*datagram_received)(cio_datagram_transport *t, const void *data,
                              size_t len, const cio_sockaddr *addr, void *ctx);
    /* A non-fatal error: -ECONNREFUSED (the remote port is closed, on a
     * connected endpoint), -EMSGSIZE (truncated datagram), -ENOBUFS,
     * -EHOSTUNREACH, ... The endpoint stays open. */
    void (*error_received)(cio_datagram_transport *t, int err, void *ctx);
    /* The last callback, after close (err 0) or abort (err 0) or a fatal
     * error of the descriptor (err < 0). Free ctx here. */
    void (*connection_lost)(cio_datagram_transport *t, int err, void *ctx);
} cio_datagram_protocol;

typedef struct cio_datagram_opts {
    /* local_addr: numeric host or name (NULL: the wildcard of the family)
     * and port (0: the kernel picks). Bound when local_host is set or
     * local_port > 0, or when there is no remote address. */
    const char *local_host;
    int local_port;
    /* remote_addr: when set the socket is connected to it, sendto takes a
     * NULL address, and ICMP errors reach error_received. */
    const char *remote_host;
    int remote_port;
    int family;          /* AF_UNSPEC (from the addresses), AF_INET, AF_INET6 */
    int reuse_port;      /* SO_REUSEPORT */
    int allow_broadcast; /* SO_BROADCAST */
    size_t recv_size;    /* largest datagram received whole (0: 65536) */
    unsigned recv_batch; /* datagrams per recvmmsg (0: 8) */
    size_t max_queue;    /* bytes queued while the kernel is full (0: 1 MiB) */
    /* UDP offloads (IPv4/IPv6 only): 0 (default) uses what the kernel
     * has: UDP_SEGMENT (GSO) for the replies a read batch's callbacks
     * send to one peer, and UDP_GRO on receive when recv_size is the
     * 65536 default (a coalesced buffer must fit a slot); -1: neither.
     * See cio_datagram_transport_offloads. */
    int offload;
} cio_datagram_opts;

#define CIO_DATAGRAM_OPTS_INIT {NULL, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0}

/* Bits of cio_datagram_transport_offloads. */
#define CIO_DGRAM_GSO 0x1u
#define CIO_DGRAM_GRO 0x2u

/* asyncio's loop.create_datagram_endpoint on the running loop: resolves
 * the addresses (cio_getaddrinfo, SOCK_DGRAM; the first address is
 * used), makes a non-blocking UDP socket with the options, binds and/or
 * connects it, calls proto->connection_made and returns the transport.
 * proto and ctx are borrowed until connection_lost returns; opts and its
 * strings for the call. Returns: 0 and *out (borrowed until
 * connection_lost returns; close it with cio_datagram_transport_close).
 * Errors: -EINVAL (NULL, outside a task, bad port, recv_size above 65536),
 * -EADDRINUSE, -EACCES, -EAFNOSUPPORT, CIO_ERESOLVE, CIO_EDNS_*,
 * -ECANCELED, -ENOMEM, -errno; *out is NULL and no callback runs on
 * failure. Suspends (only to resolve a name). */
CIO_API int cio_create_datagram_endpoint(const cio_datagram_protocol *proto,
                                         void *ctx,
                                         const cio_datagram_opts *opts,
                                         cio_datagram_transport **out);

/* asyncio's create_datagram_endpoint(sock=...): wraps an existing
 * datagram socket fd of any family (AF_INET, AF_INET6, AF_UNIX: a bound
 * path or abstract address, or one end of socketpair(AF_UNIX,
 * SOCK_DGRAM)); it is connected if getpeername says so. Takes fd on
 * success (made non-blocking and close-on-exec, closed by the transport);
 * on failure fd stays the caller's. opts: only recv_size, recv_batch and
 * max_queue apply. Returns/Errors: as cio_create_datagram_endpoint, plus
 * -EINVAL for a descriptor that is not a datagram socket, -EBUSY (fd
 * already used on the loop), -ENOTSOCK. */
CIO_API int cio_create_datagram_endpoint_from_fd(
    const cio_datagram_protocol *proto, void *ctx, int fd,
    const cio_datagram_opts *opts, cio_datagram_transport **out);

/* A Unix datagram endpoint (asyncio's create_datagram_endpoint with
 * family=AF_UNIX, local_addr / remote_addr paths): an AF_UNIX SOCK_DGRAM
 * socket bound to local_path (a file or "@name"; NULL: unbound, so peers
 * cannot answer it) and/or connected to remote_path (NULL: unconnected,
 * sendto takes the peer's address from cio_sockaddr_from_unix). flags and
 * mode apply to local_path as in cio_start_unix_server
 * (CIO_UNIX_REMOVE_STALE probes with a datagram connect). opts: recv_size,
 * recv_batch and max_queue apply. proto and ctx are borrowed until
 * connection_lost returns; the paths and opts for the call. Returns: 0
 * and *out, as cio_create_datagram_endpoint. Errors: -EINVAL (NULL proto,
 * no path at all, bad flags), -ENAMETOOLONG, -EADDRINUSE, -ECONNREFUSED
 * or -ENOENT (nobody bound at remote_path), -EACCES, -ENOMEM, -errno; *out
 * is NULL on failure (and a file this call bound is removed). Never
 * suspends. */
CIO_API int cio_create_unix_datagram_endpoint(
    const cio_datagram_protocol *proto, void *ctx, const char *local_path,
    const char *remote_path, int mode, int flags,
    const cio_datagram_opts *opts, cio_datagram_transport **out);

/* Sends one datagram of len bytes (data borrowed for the call) to addr
 * (borrowed; NULL on a connected endpoint). Tried at once; if the kernel's
 * buffer is full (or datagrams are already queued) a copy is queued and
 * sent when it drains. Errors the network reports for this datagram
 * (-ECONNREFUSED...) go to error_received, not to the caller.
 * Returns: 0 (sent or queued). Errors: -EBADF (closing or closed),
 * -EINVAL (NULL t or data with len > 0; addr missing while unconnected,
 * or given while connected), -EMSGSIZE (too long for UDP), -ENOBUFS (the
 * queue is at max_queue: the datagram is dropped), -ENOMEM. */
CIO_API int cio_datagram_transport_sendto(cio_datagram_transport *t,
                                          const void *data, size_t len,
                                          const cio_sockaddr *addr);

/* Closes the endpoint after the queued datagrams are sent; reading stops
 * now. connection_lost(0) follows from the loop. Idempotent; NULL is
 * ignored. */
CIO_API void cio_datagram_transport_close(cio_datagram_transport *t);

/* Closes now, dropping queued datagrams; connection_lost(0) follows from
 * the loop. Idempotent; NULL is ignored. */
CIO_API void cio_datagram_transport_abort(cio_datagram_transport *t);

/* Which UDP offloads t uses (CIO_DGRAM_GSO, CIO_DGRAM_GRO; 0 for a Unix
 * endpoint, one made with offload -1, or a kernel without them: probed
 * at creation), and how many segmented sends (*gso_sends) and coalesced
 * receive buffers (*gro_reads) it has had; either pointer may be NULL.
 * Sends are batched whether or not GSO is there: the datagrams a read
 * batch's callbacks send go out together after the last callback, in
 * order (an error the kernel reports for them then reaches
 * error_received, not sendto). Returns: the bits (0 for NULL). */
CIO_API unsigned cio_datagram_transport_offloads(
    const cio_datagram_transport *t, uint64_t *gso_sends, uint64_t *gro_reads);

/* Returns: 1 once close or abort was called (or the endpoint failed), 0
 * otherwise (also for NULL). */
CIO_API int cio_datagram_transport_is_closing(const cio_datagram_transport *t);

/* Bytes queued and not yet handed to the kernel (asyncio's
 * get_write_buffer_size). Returns: the count, 0 for NULL. */
CIO_API size_t
cio_datagram_transport_write_buffer_size(const cio_datagram_transport *t);

/* get_extra_info("sockname") / ("peername") into *out. Returns: 0.
 * Errors: -EINVAL (NULL), -EBADF (closed), -ENOTCONN (peername of an
 * unconnected endpoint). */
CIO_API int cio_datagram_transport_sockname(cio_datagram_transport *t,
                                            cio_sockaddr *out);
CIO_API int cio_datagram_transport_peername(cio_datagram_transport *t,
                                            cio_sockaddr *out);

/* get_extra_info("socket"): the descriptor, borrowed (never close it), for
 * setsockopt. Returns: the fd. Errors: -EINVAL (NULL), -EBADF (closed). */
CIO_API int cio_datagram_transport_fileno(const cio_datagram_transport *t);

/* Joins (join = 1) or leaves (0) the multicast group group_ip (numeric,
 * IPv4 or IPv6 as the endpoint) on the interface whose address is
 * iface_ip (IPv4; NULL: the kernel's choice) or whose index is ifindex
 * (IPv6; 0: the kernel's choice). Strings borrowed for the call.
 * Returns: 0. Errors: -EINVAL (NULL, not numeric, family mismatch),
 * -EBADF (closed), -EADDRINUSE (already joined), -errno. */
CIO_API int cio_datagram_transport_multicast(cio_datagram_transport *t,
                                             const char *group_ip,
                                             const char *iface_ip, int ifindex,
                                             int join);

#ifdef __cplusplus
}
#endif

#endif
