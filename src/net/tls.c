/*
 * tls.c - TLS contexts (cio/tls.h) and the TLS byte stream (net/tls.h).
 *
 * OpenSSL talks to the inner byte stream through a custom BIO (bio_read
 * / bio_write call cio__bs_read / cio__bs_write of the inner stream), so
 * ciphertext goes straight between the kernel and OpenSSL's record
 * buffers with no memory-BIO copy, and an inner -EAGAIN becomes the BIO's
 * retry, i.e. SSL_ERROR_WANT_READ / WANT_WRITE. A write that OpenSSL
 * could not finish stays inside OpenSSL (SSL_MODE_ENABLE_PARTIAL_WRITE +
 * ACCEPT_MOVING_WRITE_BUFFER) and is reported as -EAGAIN "none taken":
 * the owner keeps those bytes first in its write buffer and offers them
 * again, which is exactly OpenSSL's retry rule. docs/design.md section 27
 * has the decision (memory BIOs rejected) and the kernel-TLS path, where
 * OpenSSL's socket BIO replaces ours so the kernel can take the keys.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net/tls.h"

#define REASON_MAX 256
#define SESS_MAX 64

typedef struct sni_cert {
    struct sni_cert *next;
    char *name;
    SSL_CTX *sc; /* holds the chain and key */
} sni_cert;

typedef struct sess_entry {
    struct sess_entry *next;
    char *key;
    SSL_SESSION *sess;
} sess_entry;

struct cio_tls_ctx {
    SSL_CTX *sc;
    int role;
    int verify;
    int check_hostname;
    int tickets;
    int ktls;
    int64_t hs_timeout;
    unsigned char *alpn; /* wire format */
    size_t alpn_len;
    sni_cert *sni;
    cio_tls_sni_fn sni_fn;
    void *sni_arg;
    pthread_mutex_t mu; /* refs, the session cache */
    unsigned refs;
    sess_entry *sessions;
    unsigned nsessions;
};

struct cio_tls_conn {
    cio__bstream bs;
    cio__bstream *inner;
    SSL *ssl;
    cio_tls_ctx *ctx;
    int err;    /* sticky */
    int io_err; /* the inner stream's error seen by the BIO */
    uint8_t hs_done, eof, reneg, shut_sent, sockbio, closed;
    char *sess_key;
    char *pre; /* bytes received before TLS started, read first */
    size_t pre_len, pre_off;
    char alpn[256];
    char reason[REASON_MAX];
};

static _Thread_local char last_reason[REASON_MAX];

static void set_reason(cio_tls_conn *c, const char *text)
{
    snprintf(last_reason, sizeof(last_reason), "%s", text);
    if (c)
        snprintf(c->reason, sizeof(c->reason), "%s", text);
}

/* Takes OpenSSL's error queue as the reason (when it has one). */
static void take_reason(cio_tls_conn *c, const char *prefix)
{
    unsigned long e = ERR_peek_last_error();
    char buf[REASON_MAX];
    char tmp[200];
    if (e)
        ERR_error_string_n(e, tmp, sizeof(tmp));
    else
        snprintf(tmp, sizeof(tmp), "%s", "no OpenSSL reason");
    if (c && c->ssl && e &&
        ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        long v = SSL_get_verify_result(c->ssl);
        snprintf(buf, sizeof(buf), "%s%scertificate verify failed: %s",
                 prefix ? prefix : "", prefix ? ": " : "",
                 X509_verify_cert_error_string(v));
    } else {
        snprintf(buf, sizeof(buf), "%s%s%s", prefix ? prefix : "",
                 prefix ? ": " : "", tmp);
    }
    set_reason(c, buf);
    ERR_clear_error();
}

int cio_tls_last_error(char *buf, size_t cap)
{
    if (!buf && cap)
        return -EINVAL;
    size_t n = strlen(last_reason);
    if (cap)
        snprintf(buf, cap, "%s", last_reason);
    return (int)n;
}

/* ------------------------------------------------------------- context */

static int config_err(const char *what)
{
    take_reason(NULL, what);
    return CIO_ETLS_CONFIG;
}

static void info_cb(const SSL *ssl, int where, int ret)
{
    (void)ret;
    cio_tls_conn *c = SSL_get_app_data(ssl);
    if (c && c->hs_done && (where & SSL_CB_HANDSHAKE_START) &&
        SSL_version(ssl) <= TLS1_2_VERSION)
        c->reneg = 1;
}

static int alpn_select(SSL *ssl, const unsigned char **out,
                       unsigned char *outlen, const unsigned char *in,
                       unsigned inlen, void *arg)
{
    (void)ssl;
    cio_tls_ctx *ctx = arg;
    if (!ctx->alpn_len)
        return SSL_TLSEXT_ERR_NOACK;
    unsigned char *o;
    if (SSL_select_next_proto(&o, outlen, ctx->alpn, (unsigned)ctx->alpn_len,
                              in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = o;
    return SSL_TLSEXT_ERR_OK;
}

/* Server: the certificate by SNI name (callback first, then the list). */
static int cert_cb(SSL *ssl, void *arg)
{
    cio_tls_ctx *ctx = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    SSL_CTX *from = NULL;
    if (ctx->sni_fn) {
        cio_tls_ctx *o = ctx->sni_fn(name, ctx->sni_arg);
        if (o && o != ctx)
            from = o->sc;
    }
    if (!from && name)
        for (sni_cert *s = ctx->sni; s; s = s->next)
            if (!strcasecmp(s->name, name)) {
                from = s->sc;
                break;
            }
    if (!from)
        return 1;
    X509 *x = SSL_CTX_get0_certificate(from);
    EVP_PKEY *k = SSL_CTX_get0_privatekey(from);
    if (!x || !k)
        return 1;
    STACK_OF(X509) *chain = NULL;
    SSL_CTX_get0_chain_certs(from, &chain);
    return SSL_use_cert_and_key(ssl, x, k, chain, 1) == 1 ? 1 : 0;
}

static void sess_drop_all(cio_tls_ctx *ctx)
{
    sess_entry *e = ctx->sessions;
    while (e) {
        sess_entry *n = e->next;
        SSL_SESSION_free(e->sess);
        free(e->key);
        free(e);
        e = n;
    }
    ctx->sessions = NULL;
    ctx->nsessions = 0;
}

/* Client: a session (ticket) arrived: keep it as the name's latest. */
static int new_session(SSL *ssl, SSL_SESSION *sess)
{
    cio_tls_conn *c = SSL_get_app_data(ssl);
    if (!c || !c->sess_key || !c->ctx->tickets)
        return 0;
    cio_tls_ctx *ctx = c->ctx;
    pthread_mutex_lock(&ctx->mu);
    sess_entry **pp = &ctx->sessions, *e;
    for (; (e = *pp); pp = &e->next)
        if (!strcmp(e->key, c->sess_key))
            break;
    if (e) {
        SSL_SESSION_free(e->sess);
        e->sess = sess;
    } else if (ctx->nsessions < SESS_MAX && (e = calloc(1, sizeof(*e))) &&
               (e->key = strdup(c->sess_key))) {
        e->sess = sess;
        e->next = ctx->sessions;
        ctx->sessions = e;
        ctx->nsessions++;
    } else {
        free(e);
        pthread_mutex_unlock(&ctx->mu);
        return 0;
    }
    pthread_mutex_unlock(&ctx->mu);
    return 1; /* we keep the reference */
}

int cio_tls_ctx_new(cio_tls_ctx **out, int role)
{
    if (!out || (role != CIO_TLS_CLIENT && role != CIO_TLS_SERVER))
        return -EINVAL;
    *out = NULL;
    cio_tls_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return -ENOMEM;
    ERR_clear_error();
    ctx->sc = SSL_CTX_new(role == CIO_TLS_SERVER ? TLS_server_method()
                                                 : TLS_client_method());
    if (!ctx->sc) {
        free(ctx);
        return config_err("SSL_CTX_new");
    }
    pthread_mutex_init(&ctx->mu, NULL);
    ctx->refs = 1;
    ctx->role = role;
    ctx->verify =
        role == CIO_TLS_CLIENT ? CIO_TLS_VERIFY_REQUIRED : CIO_TLS_VERIFY_NONE;
    ctx->check_hostname = role == CIO_TLS_CLIENT;
    ctx->tickets = 1;
    ctx->hs_timeout = 60000 * CIO_MS;
    SSL_CTX_set_min_proto_version(ctx->sc, TLS1_2_VERSION);
    /* RELEASE_BUFFERS: an idle connection holds no 16 KiB record
     * buffers (Python's ssl does the same); measured within the noise of
     * the echo bench (bench/README.md, TLS). */
    SSL_CTX_set_mode(ctx->sc, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_read_ahead(ctx->sc, 1);
    SSL_CTX_set_info_callback(ctx->sc, info_cb);
    if (role == CIO_TLS_SERVER) {
        /* Let a client's renegotiation start, so that info_cb sees it
         * and the connection fails with CIO_ETLS_RENEGOTIATION (OpenSSL's
         * own refusal is a warning alert the connection survives, and
         * the application never hears of). */
        SSL_CTX_set_options(ctx->sc, SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
        SSL_CTX_set_alpn_select_cb(ctx->sc, alpn_select, ctx);
        SSL_CTX_set_cert_cb(ctx->sc, cert_cb, ctx);
        /* One session id context per process is enough for tickets. */
        SSL_CTX_set_session_id_context(ctx->sc, (const unsigned char *)"cio",
                                       3);
    } else {
        SSL_CTX_set_session_cache_mode(
            ctx->sc, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx->sc, new_session);
        if (SSL_CTX_set_default_verify_paths(ctx->sc) != 1)
            ERR_clear_error(); /* no system store: verification fails later */
    }
    *out = ctx;
    return 0;
}

void cio__tls_ctx_retain(cio_tls_ctx *ctx)
{
    if (!ctx)
        return;
    pthread_mutex_lock(&ctx->mu);
    ctx->refs++;
    pthread_mutex_unlock(&ctx->mu);
}

CIO_API cio_tls_ctx *cio_tls_ctx_ref(cio_tls_ctx *ctx)
{
    cio__tls_ctx_retain(ctx);
    return ctx;
}

int cio__tls_ctx_role(const cio_tls_ctx *ctx)
{
    return ctx->role;
}

void cio_tls_ctx_free(cio_tls_ctx *ctx)
{
    if (!ctx)
        return;
    pthread_mutex_lock(&ctx->mu);
    unsigned left = --ctx->refs;
    pthread_mutex_unlock(&ctx->mu);
    if (left)
        return;
    sess_drop_all(ctx);
    sni_cert *s = ctx->sni;
    while (s) {
        sni_cert *n = s->next;
        SSL_CTX_free(s->sc);
        free(s->name);
        free(s);
        s = n;
    }
    SSL_CTX_free(ctx->sc);
    free(ctx->alpn);
    pthread_mutex_destroy(&ctx->mu);
    free(ctx);
}

static int load_cert_file(SSL_CTX *sc, const char *cert, const char *key)
{
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(sc, cert) != 1)
        return config_err(cert);
    if (SSL_CTX_use_PrivateKey_file(sc, key, SSL_FILETYPE_PEM) != 1)
        return config_err(key);
    if (SSL_CTX_check_private_key(sc) != 1)
        return config_err("key does not match the certificate");
    return 0;
}

int cio_tls_ctx_use_cert_file(cio_tls_ctx *ctx, const char *cert_pem,
                              const char *key_pem)
{
    if (!ctx || !cert_pem || !key_pem)
        return -EINVAL;
    return load_cert_file(ctx->sc, cert_pem, key_pem);
}

int cio_tls_ctx_use_cert_mem(cio_tls_ctx *ctx, const char *cert_pem,
                             size_t cert_len, const char *key_pem,
                             size_t key_len)
{
    if (!ctx || !cert_pem || !key_pem || cert_len > INT32_MAX ||
        key_len > INT32_MAX)
        return -EINVAL;
    ERR_clear_error();
    int rc = 0;
    BIO *b = BIO_new_mem_buf(cert_pem, (int)cert_len);
    X509 *x = b ? PEM_read_bio_X509_AUX(b, NULL, NULL, NULL) : NULL;
    if (!x || SSL_CTX_use_certificate(ctx->sc, x) != 1) {
        rc = config_err("certificate");
        goto out;
    }
    SSL_CTX_clear_chain_certs(ctx->sc);
    X509 *ca;
    while ((ca = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
        if (SSL_CTX_add0_chain_cert(ctx->sc, ca) != 1) {
            X509_free(ca);
            rc = config_err("certificate chain");
            goto out;
        }
    }
    ERR_clear_error(); /* the end of the PEM text */
    BIO_free(b);
    b = BIO_new_mem_buf(key_pem, (int)key_len);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    if (!k) {
        rc = config_err("private key");
        goto out;
    }
    int ok = SSL_CTX_use_PrivateKey(ctx->sc, k);
    EVP_PKEY_free(k);
    if (ok != 1 || SSL_CTX_check_private_key(ctx->sc) != 1)
        rc = config_err("key does not match the certificate");
out:
    X509_free(x);
    BIO_free(b);
    return rc;
}

int cio_tls_ctx_add_sni_cert_file(cio_tls_ctx *ctx, const char *name,
                                  const char *cert_pem, const char *key_pem)
{
    if (!ctx || !name || !cert_pem || !key_pem || ctx->role != CIO_TLS_SERVER)
        return -EINVAL;
    sni_cert *s = calloc(1, sizeof(*s));
    if (!s || !(s->name = strdup(name))) {
        free(s);
        return -ENOMEM;
    }
    s->sc = SSL_CTX_new(TLS_server_method());
    int rc = s->sc ? load_cert_file(s->sc, cert_pem, key_pem)
                   : config_err("SSL_CTX_new");
    if (rc < 0) {
        SSL_CTX_free(s->sc);
        free(s->name);
        free(s);
        return rc;
    }
    s->next = ctx->sni;
    ctx->sni = s;
    return 0;
}

int cio_tls_ctx_set_sni_callback(cio_tls_ctx *ctx, cio_tls_sni_fn fn, void *arg)
{
    if (!ctx || ctx->role != CIO_TLS_SERVER)
        return -EINVAL;
    ctx->sni_fn = fn;
    ctx->sni_arg = arg;
    return 0;
}

int cio_tls_ctx_load_verify(cio_tls_ctx *ctx, const char *cafile,
                            const char *capath)
{
    if (!ctx || (!cafile && !capath))
        return -EINVAL;
    ERR_clear_error();
    if (SSL_CTX_load_verify_locations(ctx->sc, cafile, capath) != 1)
        return config_err(cafile ? cafile : capath);
    if (ctx->role == CIO_TLS_SERVER && cafile) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cafile);
        if (names)
            SSL_CTX_set_client_CA_list(ctx->sc, names);
        ERR_clear_error();
    }
    return 0;
}

int cio_tls_ctx_load_system_store(cio_tls_ctx *ctx)
{
    if (!ctx)
        return -EINVAL;
    ERR_clear_error();
    if (SSL_CTX_set_default_verify_paths(ctx->sc) != 1)
        return config_err("system trust store");
    return 0;
}

int cio_tls_ctx_set_verify(cio_tls_ctx *ctx, int mode)
{
    if (!ctx || mode < CIO_TLS_VERIFY_NONE || mode > CIO_TLS_VERIFY_REQUIRED)
        return -EINVAL;
    ctx->verify = mode;
    return 0;
}

int cio_tls_ctx_set_check_hostname(cio_tls_ctx *ctx, int on)
{
    if (!ctx)
        return -EINVAL;
    ctx->check_hostname = on != 0;
    return 0;
}

int cio_tls_ctx_set_alpn(cio_tls_ctx *ctx, const char *const *protos, size_t n)
{
    if (!ctx || (!protos && n))
        return -EINVAL;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = protos[i] ? strlen(protos[i]) : 0;
        if (!l || l > 255)
            return -EINVAL;
        len += 1 + l;
    }
    unsigned char *w = NULL;
    if (n) {
        w = malloc(len);
        if (!w)
            return -ENOMEM;
        unsigned char *p = w;
        for (size_t i = 0; i < n; i++) {
            size_t l = strlen(protos[i]);
            *p++ = (unsigned char)l;
            memcpy(p, protos[i], l);
            p += l;
        }
    }
    if (ctx->role == CIO_TLS_CLIENT &&
        SSL_CTX_set_alpn_protos(ctx->sc, w, (unsigned)len) != 0) {
        free(w);
        return config_err("ALPN list");
    }
    free(ctx->alpn);
    ctx->alpn = w;
    ctx->alpn_len = len;
    return 0;
}

static int set_version(cio_tls_ctx *ctx, int version, int max)
{
    if (!ctx || (version && version != CIO_TLS_V1_2 && version != CIO_TLS_V1_3))
        return -EINVAL;
    ERR_clear_error();
    int ok = max ? SSL_CTX_set_max_proto_version(ctx->sc, version)
                 : SSL_CTX_set_min_proto_version(ctx->sc, version);
    return ok == 1 ? 0 : config_err("protocol version");
}

int cio_tls_ctx_set_min_version(cio_tls_ctx *ctx, int version)
{
    return set_version(ctx, version, 0);
}

int cio_tls_ctx_set_max_version(cio_tls_ctx *ctx, int version)
{
    return set_version(ctx, version, 1);
}

int cio_tls_ctx_set_ciphers(cio_tls_ctx *ctx, const char *tls12,
                            const char *tls13)
{
    if (!ctx)
        return -EINVAL;
    ERR_clear_error();
    if (tls12 && SSL_CTX_set_cipher_list(ctx->sc, tls12) != 1)
        return config_err("TLS 1.2 cipher list");
    if (tls13 && SSL_CTX_set_ciphersuites(ctx->sc, tls13) != 1)
        return config_err("TLS 1.3 cipher suites");
    return 0;
}

int cio_tls_ctx_set_session_tickets(cio_tls_ctx *ctx, int on)
{
    if (!ctx)
        return -EINVAL;
    ctx->tickets = on != 0;
    if (ctx->role == CIO_TLS_SERVER) {
        if (on)
            SSL_CTX_clear_options(ctx->sc, SSL_OP_NO_TICKET);
        else
            SSL_CTX_set_options(ctx->sc, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(ctx->sc, on ? 2 : 0);
    }
    return 0;
}

int cio_tls_ctx_set_handshake_timeout(cio_tls_ctx *ctx, int64_t timeout)
{
    if (!ctx || timeout < 0)
        return -EINVAL;
    ctx->hs_timeout = timeout;
    return 0;
}

int cio_tls_ktls_available(void)
{
#ifdef OPENSSL_NO_KTLS
    set_reason(NULL, "OpenSSL was built without kernel TLS");
    return CIO_ETLS_NOKTLS;
#else
    char buf[256] = {0};
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "r");
    if (f) {
        if (!fgets(buf, sizeof(buf), f))
            buf[0] = 0;
        fclose(f);
    }
    for (char *t = strtok(buf, " \n"); t; t = strtok(NULL, " \n"))
        if (!strcmp(t, "tls"))
            return 1;
    set_reason(NULL, "the kernel offers no TLS upper layer (the `tls` "
                     "module is not loaded)");
    return CIO_ETLS_NOKTLS;
#endif
}

int cio_tls_ctx_set_ktls(cio_tls_ctx *ctx, int on)
{
    if (!ctx)
        return -EINVAL;
    ctx->ktls = on != 0;
#ifdef SSL_OP_ENABLE_KTLS
    if (on)
        SSL_CTX_set_options(ctx->sc, SSL_OP_ENABLE_KTLS);
    else
        SSL_CTX_clear_options(ctx->sc, SSL_OP_ENABLE_KTLS);
#endif
    if (!on)
        return 0;
    int r = cio_tls_ktls_available();
    return r == 1 ? 0 : r;
}

/* ------------------------------------------------ the BIO over a stream */

static BIO_METHOD *bio_meth;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static int bio_write(BIO *b, const char *p, int n)
{
    cio_tls_conn *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t k = cio__bs_write(c->inner, p, (size_t)n);
    if (k >= 0)
        return (int)k;
    if (k == -EAGAIN) {
        BIO_set_retry_write(b);
        return -1;
    }
    c->io_err = (int)k;
    return -1;
}

static int bio_read(BIO *b, char *p, int n)
{
    cio_tls_conn *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (CIO_UNLIKELY(c->pre)) {
        size_t k = c->pre_len - c->pre_off;
        if (k > (size_t)n)
            k = (size_t)n;
        memcpy(p, c->pre + c->pre_off, k);
        c->pre_off += k;
        if (c->pre_off == c->pre_len) {
            free(c->pre);
            c->pre = NULL;
            c->pre_len = c->pre_off = 0;
        }
        return (int)k;
    }
    ssize_t k = cio__bs_read(c->inner, p, (size_t)n);
    if (k >= 0)
        return (int)k;
    if (k == -EAGAIN) {
        BIO_set_retry_read(b);
        return -1;
    }
    c->io_err = (int)k;
    return -1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void bio_init_once(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                                 "cio byte stream");
    if (!m)
        return;
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    bio_meth = m;
}

/* --------------------------------------------------- the byte stream */

#define TC(s) cio__container_of((s), cio_tls_conn, bs)

/* The error of a failed SSL call (sslerr from SSL_get_error). */
static int classify(cio_tls_conn *c, int sslerr, int in_hs)
{
    if (c->reneg) {
        set_reason(c, "the peer asked for a renegotiation");
        ERR_clear_error();
        return CIO_ETLS_RENEGOTIATION;
    }
    unsigned long e = ERR_peek_last_error();
    if (sslerr == SSL_ERROR_SYSCALL || (sslerr == SSL_ERROR_SSL && !e)) {
        if (c->io_err) {
            ERR_clear_error();
            return c->io_err;
        }
        set_reason(c, in_hs ? "the peer closed the connection during the "
                              "handshake"
                            : "the peer closed without close_notify");
        ERR_clear_error();
        return in_hs ? CIO_ETLS_HANDSHAKE : CIO_ETLS_UNCLEAN;
    }
    int reason = ERR_GET_REASON(e);
    int rc;
    if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED)
        rc = CIO_ETLS_VERIFY;
    else if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        rc = c->io_err ? c->io_err
             : in_hs   ? CIO_ETLS_HANDSHAKE
                       : CIO_ETLS_UNCLEAN;
    else if (in_hs && (reason == SSL_R_WRONG_VERSION_NUMBER ||
                       reason == SSL_R_HTTP_REQUEST ||
                       reason == SSL_R_HTTPS_PROXY_REQUEST ||
                       reason == SSL_R_UNKNOWN_PROTOCOL ||
                       reason == SSL_R_PACKET_LENGTH_TOO_LONG))
        rc = CIO_ETLS_NOT_TLS;
    else if (c->io_err)
        rc = c->io_err;
    else
        rc = in_hs ? CIO_ETLS_HANDSHAKE : CIO_ETLS;
    take_reason(c, in_hs ? "handshake" : NULL);
    return rc;
}

/* After a read: bytes OpenSSL holds make the stream readable, whatever
 * the kernel says (the inner read may have cleared READ). */
static inline void keep_ready(cio_tls_conn *c)
{
    if (SSL_has_pending(c->ssl) || c->pre)
        c->bs.afd->ready |= CIO__EV_READ;
}

static ssize_t tls_read(cio__bstream *s, void *p, size_t n)
{
    cio_tls_conn *c = TC(s);
    if (CIO_UNLIKELY(c->err))
        return c->err;
    if (c->eof)
        return 0;
    ERR_clear_error();
    size_t got = 0;
    int r = SSL_read_ex(c->ssl, p, n, &got);
    if (CIO_UNLIKELY(c->reneg)) {
        c->err = classify(c, SSL_ERROR_SSL, 0);
        return c->err;
    }
    if (CIO_LIKELY(r == 1)) {
        keep_ready(c);
        return (ssize_t)got;
    }
    int e = SSL_get_error(c->ssl, r);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        if (c->sockbio)
            cio__afd_clear(c->bs.afd, CIO__EV_READ);
        /* not keep_ready: what OpenSSL holds now is an incomplete record
         * that only the kernel can finish */
        return -EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        if (c->sockbio)
            cio__afd_clear(c->bs.afd, CIO__EV_WRITE);
        return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        c->eof = 1; /* close_notify: a clean end of file */
        return 0;
    default:
        c->err = classify(c, e, 0);
        return c->err;
    }
}

static ssize_t tls_write(cio__bstream *s, const void *p, size_t n)
{
    cio_tls_conn *c = TC(s);
    if (CIO_UNLIKELY(c->err))
        return c->err;
    if (c->shut_sent)
        return -EPIPE;
    ERR_clear_error();
    size_t put = 0;
    int r = SSL_write_ex(c->ssl, p, n, &put);
    if (CIO_LIKELY(r == 1))
        return (ssize_t)put;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
        if (c->sockbio)
            cio__afd_clear(c->bs.afd, e == SSL_ERROR_WANT_WRITE ? CIO__EV_WRITE
                                                                : CIO__EV_READ);
        return -EAGAIN;
    }
    c->err = classify(c, e, 0);
    return c->err;
}

/* Small buffers are gathered (up to 4 KiB, on the stack: tasks may run
 * on 16 KiB compact stacks) into one record; a big first buffer is
 * written alone (a partial write, which the contract allows). */
static ssize_t tls_writev(cio__bstream *s, const struct iovec *iov, int n)
{
    int i = 0;
    while (i < n && !iov[i].iov_len)
        i++;
    if (i == n)
        return 0;
    if (i == n - 1 || iov[i].iov_len >= 4096)
        return tls_write(s, iov[i].iov_base, iov[i].iov_len);
    char buf[4096];
    size_t len = 0;
    for (; i < n && len < sizeof(buf); i++) {
        size_t k = iov[i].iov_len;
        if (k > sizeof(buf) - len)
            k = sizeof(buf) - len;
        memcpy(buf + len, iov[i].iov_base, k);
        len += k;
    }
    return tls_write(s, buf, len);
}

/* Sends close_notify (once; best effort when the socket is full). */
static int tls_shutdown_write(cio__bstream *s)
{
    cio_tls_conn *c = TC(s);
    if (c->shut_sent || !c->hs_done || c->err)
        return 0;
    c->shut_sent = 1;
    ERR_clear_error();
    int r = SSL_shutdown(c->ssl);
    if (r < 0) {
        int e = SSL_get_error(c->ssl, r);
        ERR_clear_error();
        if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ && c->io_err)
            return c->io_err;
    }
    return 0;
}

static void tls_close(cio__bstream *s)
{
    cio_tls_conn *c = TC(s);
    if (c->closed)
        return;
    c->closed = 1;
    tls_shutdown_write(s);
    cio__bs_close(c->inner);
}

static size_t tls_pending(const cio__bstream *s)
{
    const cio_tls_conn *c = cio__container_of(s, const cio_tls_conn, bs);
    return c->ssl ? (size_t)SSL_pending(c->ssl) : 0;
}

static const cio__bstream_ops tls_ops = {
    .name = "tls",
    .read = tls_read,
    .write = tls_write,
    .writev = tls_writev,
    .shutdown_write = tls_shutdown_write,
    .close = tls_close,
    .pending = tls_pending,
    .flags = 0, /* a write takes a record at a time: short is not full */
};

cio__bstream *cio__tls_bs(cio_tls_conn *c)
{
    return &c->bs;
}

static int is_ip(const char *h)
{
    unsigned char b[16];
    return inet_pton(AF_INET, h, b) == 1 || inet_pton(AF_INET6, h, b) == 1;
}

int cio__tls_new(cio_tls_ctx *ctx, cio__bstream *inner, int fd,
                 const char *host, int port, cio_tls_conn **out)
{
    *out = NULL;
    pthread_once(&bio_once, bio_init_once);
    if (!bio_meth)
        return -ENOMEM;
    cio_tls_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->bs.ops = &tls_ops;
    c->bs.afd = inner->afd;
    c->inner = inner;
    c->ctx = ctx;
    ERR_clear_error();
    c->ssl = SSL_new(ctx->sc);
    if (!c->ssl) {
        free(c);
        return config_err("SSL_new");
    }
    cio__tls_ctx_retain(ctx);
    SSL_set_app_data(c->ssl, c);
    BIO *b = NULL;
#ifdef SSL_OP_ENABLE_KTLS
    if (ctx->ktls && fd >= 0 && cio__bs_fd(inner)) {
        b = BIO_new_socket(fd, BIO_NOCLOSE);
        c->sockbio = 1;
    }
#else
    (void)fd;
#endif
    if (!b) {
        b = BIO_new(bio_meth);
        if (b)
            BIO_set_data(b, c);
        c->sockbio = 0;
    }
    if (!b) {
        cio__tls_free(c);
        return -ENOMEM;
    }
    SSL_set_bio(c->ssl, b, b);
    int rc = 0;
    if (ctx->role == CIO_TLS_SERVER) {
        SSL_set_accept_state(c->ssl);
        if (ctx->verify)
            SSL_set_verify(c->ssl,
                           SSL_VERIFY_PEER |
                               (ctx->verify == CIO_TLS_VERIFY_REQUIRED
                                    ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                    : 0),
                           NULL);
    } else {
        SSL_set_connect_state(c->ssl);
        SSL_set_verify(c->ssl, ctx->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
                       NULL);
        if (host && *host) {
            int ip = is_ip(host);
            if (!ip && SSL_set_tlsext_host_name(c->ssl, host) != 1)
                rc = config_err("server name");
            if (!rc && ctx->verify && ctx->check_hostname) {
                int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(
                                  SSL_get0_param(c->ssl), host)
                            : SSL_set1_host(c->ssl, host);
                if (ok != 1)
                    rc = config_err("host name check");
            }
            char key[512];
            snprintf(key, sizeof(key), "%s:%d", host, port);
            if (!rc && ctx->tickets && !(c->sess_key = strdup(key)))
                rc = -ENOMEM;
        } else if (ctx->verify && ctx->check_hostname) {
            set_reason(c, "check_hostname needs a server_hostname");
            rc = CIO_ETLS_CONFIG;
        }
        if (!rc && c->sess_key) {
            pthread_mutex_lock(&ctx->mu);
            for (sess_entry *e = ctx->sessions; e; e = e->next)
                if (!strcmp(e->key, c->sess_key)) {
                    SSL_set_session(c->ssl, e->sess);
                    break;
                }
            pthread_mutex_unlock(&ctx->mu);
        }
    }
    if (rc < 0) {
        cio__tls_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int cio__tls_feed(cio_tls_conn *c, const void *p, size_t n)
{
    if (!n)
        return 0;
    if (c->sockbio)
        return -ENOTSUP;
    char *q = realloc(c->pre, c->pre_len + n);
    if (!q)
        return -ENOMEM;
    memcpy(q + c->pre_len, p, n);
    c->pre = q;
    c->pre_len += n;
    c->bs.afd->ready |= CIO__EV_READ;
    return 0;
}

void cio__tls_free(cio_tls_conn *c)
{
    if (!c)
        return;
    free(c->pre);
    SSL_free(c->ssl);
    cio_tls_ctx_free(c->ctx);
    free(c->sess_key);
    free(c);
}

int cio__tls_handshake(cio_tls_conn *c)
{
    cio__afd *a = c->bs.afd;
    cio_timeout sc;
    int timed = c->ctx->hs_timeout > 0;
    int rc;
    if (timed) {
        rc = cio_timeout_begin(&sc, c->ctx->hs_timeout);
        if (rc < 0)
            return rc;
    }
    for (;;) {
        ERR_clear_error();
        int r = SSL_do_handshake(c->ssl);
        if (r == 1) {
            rc = 0;
            break;
        }
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            unsigned dir =
                e == SSL_ERROR_WANT_READ ? CIO__EV_READ : CIO__EV_WRITE;
            if (c->sockbio)
                cio__afd_clear(a, dir);
            rc = cio__afd_wait(a, dir);
            if (rc < 0)
                break;
            continue;
        }
        rc = classify(c, e, 1);
        break;
    }
    if (timed) {
        rc = cio_timeout_end(&sc, rc);
        if (rc == -ETIMEDOUT) {
            rc = CIO_ETLS_TIMEOUT;
            set_reason(c, "the handshake did not finish in time");
        }
    }
    if (rc < 0) {
        c->err = rc;
        return rc;
    }
    c->hs_done = 1;
    const unsigned char *ap = NULL;
    unsigned al = 0;
    SSL_get0_alpn_selected(c->ssl, &ap, &al);
    if (ap && al) {
        memcpy(c->alpn, ap, al);
        c->alpn[al] = 0;
    }
    keep_ready(c);
    return 0;
}

/* ------------------------------------------------------------ accessors */

int cio_tls_peer_subject(const cio_tls_conn *c, char *buf, size_t cap)
{
    if (!c || !c->ssl || (!buf && cap))
        return -EINVAL;
    X509 *x = SSL_get0_peer_certificate(c->ssl);
    if (!x)
        return -ENOENT;
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return -ENOMEM;
    X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
                       XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    int rc = (int)n;
    if (cap) {
        size_t k = (size_t)n < cap ? (size_t)n : cap - 1;
        memcpy(buf, p, k);
        buf[k] = 0;
        if ((size_t)n >= cap)
            rc = -ENOBUFS;
    }
    BIO_free(b);
    return rc;
}

int cio_tls_peer_cert_der(const cio_tls_conn *c, unsigned char *buf, size_t cap)
{
    if (!c || !c->ssl || (!buf && cap))
        return -EINVAL;
    X509 *x = SSL_get0_peer_certificate(c->ssl);
    if (!x)
        return -ENOENT;
    int n = i2d_X509(x, NULL);
    if (n < 0)
        return CIO_ETLS;
    if (buf && (size_t)n <= cap) {
        unsigned char *p = buf;
        i2d_X509(x, &p);
    }
    return n;
}

const char *cio_tls_cipher(const cio_tls_conn *c)
{
    return c && c->ssl ? SSL_get_cipher_name(c->ssl) : NULL;
}

const char *cio_tls_version(const cio_tls_conn *c)
{
    return c && c->ssl ? SSL_get_version(c->ssl) : NULL;
}

const char *cio_tls_alpn(const cio_tls_conn *c)
{
    return c ? c->alpn : NULL;
}

const char *cio_tls_server_name(const cio_tls_conn *c)
{
    return c && c->ssl ? SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name)
                       : NULL;
}

int cio_tls_session_reused(const cio_tls_conn *c)
{
    if (!c || !c->ssl)
        return -EINVAL;
    return SSL_session_reused(c->ssl) == 1;
}

int cio_tls_ktls(const cio_tls_conn *c)
{
    if (!c || !c->ssl)
        return -EINVAL;
    int r = 0;
#ifdef SSL_OP_ENABLE_KTLS
    if (c->sockbio) {
        if (BIO_get_ktls_send(SSL_get_wbio(c->ssl)))
            r |= 1;
        if (BIO_get_ktls_recv(SSL_get_rbio(c->ssl)))
            r |= 2;
    }
#endif
    return r;
}

int cio_tls_conn_error(const cio_tls_conn *c, char *buf, size_t cap)
{
    if (!c || (!buf && cap))
        return -EINVAL;
    if (cap)
        snprintf(buf, cap, "%s", c->reason);
    return (int)strlen(c->reason);
}
