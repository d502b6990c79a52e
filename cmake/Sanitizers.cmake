# Sanitizers.cmake - CIO_SANITIZE="" | "address,undefined" | "thread".
#
# The flags go on every target of the build (library, tests, examples,
# bench), because a sanitizer runtime must see the whole program. They are
# build-tree only: the installed package never asks its users for them.
#
# Sets CIO_SANITIZER_ENV, the runtime options CTest gives every test, so
# running `ctest` by hand in a sanitizer build behaves like `make test`:
#  - ASan reports leaks and aborts on the first error;
#  - UBSan prints a stack and halts (and -fno-sanitize-recover=all makes
#    every check fatal, so undefined behaviour fails the test);
#  - TSan halts on the first race.
# Coroutine stack switches are made visible to ASan and TSan by the fiber
# annotations in src/coro/, not here.

set(CIO_SANITIZE "" CACHE STRING
    "Sanitizers to build with: empty, \"address,undefined\" or \"thread\"")
set_property(CACHE CIO_SANITIZE PROPERTY STRINGS
    "" "address,undefined" "address" "undefined" "thread")

set(CIO_SANITIZER_ENV "")

if(CIO_SANITIZE)
    string(REPLACE "," ";" _cio_san_list "${CIO_SANITIZE}")
    foreach(_s IN LISTS _cio_san_list)
        if(NOT _s MATCHES "^(address|undefined|thread)$")
            message(FATAL_ERROR
                "CIO_SANITIZE: unknown sanitizer '${_s}' "
                "(use address,undefined or thread)")
        endif()
    endforeach()
    if("thread" IN_LIST _cio_san_list AND "address" IN_LIST _cio_san_list)
        message(FATAL_ERROR "CIO_SANITIZE: thread and address exclude each other")
    endif()

    set(_cio_san_flags
        -fsanitize=${CIO_SANITIZE}
        -fno-sanitize-recover=all
        -fno-omit-frame-pointer)
    add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:${_cio_san_flags}>")
    add_link_options(-fsanitize=${CIO_SANITIZE})

    if("address" IN_LIST _cio_san_list)
        list(APPEND CIO_SANITIZER_ENV
            "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1")
    endif()
    if("undefined" IN_LIST _cio_san_list)
        list(APPEND CIO_SANITIZER_ENV
            "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
    endif()
    if("thread" IN_LIST _cio_san_list)
        list(APPEND CIO_SANITIZER_ENV "TSAN_OPTIONS=halt_on_error=1")
    endif()
    message(STATUS "cio: sanitizers: ${CIO_SANITIZE}")
endif()
