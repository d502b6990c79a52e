/*
 * cio_testutil_tls.h - certificates for the TLS tests, made at test time
 * with the `openssl` command line tool in a temporary directory that is
 * removed at exit (no key material in the repository): a CA, a server
 * certificate for localhost / 127.0.0.1 (srv), one for other.test
 * (other, SNI), one for wrong.example (wrong), an expired one (exp), a
 * self-signed one (self) and a client certificate (client), all signed
 * by the CA but self. Header-only.
 */
#ifndef CIO_TESTUTIL_TLS_H
#define CIO_TESTUTIL_TLS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tu_certdir[64];

static void tu_certs_rm(void)
{
    if (!tu_certdir[0])
        return;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tu_certdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tu_certdir);
}

/* Makes the certificates once per process. Returns the directory. */
static const char *tu_certs(void)
{
    if (tu_certdir[0])
        return tu_certdir;
    snprintf(tu_certdir, sizeof(tu_certdir), "/tmp/cio-tls-XXXXXX");
    if (!mkdtemp(tu_certdir)) {
        tu_certdir[0] = 0;
        return NULL;
    }
    atexit(tu_certs_rm);
    static const char script[] =
        "set -e\n"
        "K='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'\n"
        "openssl req -x509 $K -keyout ca.key -out ca.pem -days 2 "
        "-subj /CN=cio-test-CA\n"
        "mk() { openssl req $K -keyout $1.key -out $1.csr -subj /CN=$2; "
        "printf 'subjectAltName=%s\\n' \"$3\" > $1.ext; }\n"
        "sign() { openssl x509 -req -in $1.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial -out $1.pem -days 2 -extfile $1.ext; }\n"
        "mk srv localhost 'DNS:localhost,IP:127.0.0.1'; sign srv\n"
        "mk other other.test 'DNS:other.test'; sign other\n"
        "mk wrong wrong.example 'DNS:wrong.example'; sign wrong\n"
        "mk client cio-client 'DNS:cio-client'; sign client\n"
        "mk exp localhost 'DNS:localhost,IP:127.0.0.1'\n"
        "printf '[ca]\\ndefault_ca=c\\n[c]\\ndatabase=index.txt\\n"
        "new_certs_dir=.\\nserial=serial\\ndefault_md=sha256\\npolicy=p\\n"
        "unique_subject=no\\n[p]\\ncommonName=supplied\\n' > ca.cnf\n"
        ": > index.txt; echo 1000 > serial\n"
        "openssl ca -batch -notext -config ca.cnf -cert ca.pem -keyfile "
        "ca.key -in exp.csr -out exp.pem -startdate 20200101000000Z "
        "-enddate 20200102000000Z -extfile exp.ext\n"
        "openssl req -x509 $K -keyout self.key -out self.pem -days 2 "
        "-subj /CN=localhost "
        "-addext 'subjectAltName=DNS:localhost,IP:127.0.0.1'\n";
    char path[128];
    snprintf(path, sizeof(path), "%s/gen.sh", tu_certdir);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fputs(script, f);
    fclose(f);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "cd '%s' && sh gen.sh >/dev/null 2>&1",
             tu_certdir);
    if (system(cmd) != 0)
        return NULL;
    return tu_certdir;
}

/* The path of file (e.g. "srv.pem") in the certificate directory, in a
 * rotating static buffer (8 at a time). */
static const char *tu_cert(const char *file)
{
    static char bufs[8][160];
    static int i;
    char *b = bufs[i++ & 7];
    snprintf(b, 160, "%s/%s", tu_certs(), file);
    return b;
}

/* A server context with the certificate cert ("srv", "other", "exp",
 * ...: cert.pem and cert.key from the directory above). Fails the test
 * on error. The caller frees it. */
static inline cio_tls_ctx *tu_server_ctx(const char *cert)
{
    char pem[64], key[64];
    snprintf(pem, sizeof(pem), "%s.pem", cert);
    snprintf(key, sizeof(key), "%s.key", cert);
    cio_tls_ctx *c;
    assert_non_null(tu_certs());
    assert_int_equal(cio_tls_ctx_new(&c, CIO_TLS_SERVER), 0);
    assert_int_equal(cio_tls_ctx_use_cert_file(c, tu_cert(pem), tu_cert(key)),
                     0);
    return c;
}

/* A client context that trusts the test CA (verification on). */
static inline cio_tls_ctx *tu_client_ctx(void)
{
    cio_tls_ctx *c;
    assert_non_null(tu_certs());
    assert_int_equal(cio_tls_ctx_new(&c, CIO_TLS_CLIENT), 0);
    assert_int_equal(cio_tls_ctx_load_verify(c, tu_cert("ca.pem"), NULL), 0);
    return c;
}

#endif
