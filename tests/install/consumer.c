/*
 * consumer.c - a program built against an *installed* cio, by run.sh, once
 * with `pkg-config --cflags --libs cio` and once through find_package(cio)
 * (CMakeLists.txt beside it). It only uses the public header.
 */
#include <cio.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int answer(void *arg, void **result)
{
    *result = arg;
    return 0;
}

int main(void)
{
    static int value = 42;

    if (strlen(cio_strerror(-EINVAL)) == 0) {
        fprintf(stderr, "consumer: empty cio_strerror(-EINVAL)\n");
        return 1;
    }

    cio_loop *loop = NULL;
    int r = cio_loop_new(&loop, NULL);
    if (r != 0) {
        fprintf(stderr, "consumer: cio_loop_new: %s\n", cio_strerror(r));
        return 1;
    }
    r = cio_loop_close(loop);
    if (r != 0) {
        fprintf(stderr, "consumer: cio_loop_close: %s\n", cio_strerror(r));
        return 1;
    }
    cio_loop_free(loop);

    void *result = NULL;
    r = cio_run(answer, &value, &result);
    if (r != 0 || result != &value) {
        fprintf(stderr, "consumer: cio_run: %s\n", cio_strerror(r));
        return 1;
    }
    printf("consumer: ok (cio %d.%d.%d)\n", CIO_VERSION_MAJOR,
           CIO_VERSION_MINOR, CIO_VERSION_PATCH);
    return 0;
}
