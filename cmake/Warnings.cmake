# Warnings.cmake - the warning set every cio target is compiled with
# (STYLE.md section 10). Applied per target, never through global flags, so
# the installed package carries no warning flags to its users.
#
#   cio_target_warnings(<target>)
#
# C sources get the full set; C++ sources (bench peers, the C++ header
# check) get the subset that is valid for C++; assembly gets none.
# CIO_WERROR (ON by default, and always ON in CI) adds -Werror.

option(CIO_WERROR "Treat compiler warnings as errors" ON)

set(CIO_C_WARNINGS
    -Wall
    -Wextra
    -Wshadow
    -Wstrict-prototypes
    -Wmissing-prototypes
    # `struct x v = {0};` and partial designated initialisers are idiomatic
    # C11; this warning only fires on them.
    -Wno-missing-field-initializers)

set(CIO_CXX_WARNINGS
    -Wall
    -Wextra
    -Wshadow
    -Wno-missing-field-initializers)

if(CIO_WERROR)
    list(APPEND CIO_C_WARNINGS -Werror)
    list(APPEND CIO_CXX_WARNINGS -Werror)
endif()

function(cio_target_warnings target)
    target_compile_options(${target} PRIVATE
        "$<$<COMPILE_LANGUAGE:C>:${CIO_C_WARNINGS}>"
        "$<$<COMPILE_LANGUAGE:CXX>:${CIO_CXX_WARNINGS}>")
endfunction()
