# CheckDocs.cmake - run by the CTest test docs.doxygen:
#   cmake -DDOXYGEN=<doxygen> -DDOXYFILE=<Doxyfile> -DOUT=<dir>
#         -DINCLUDE=<include dir> -P CheckDocs.cmake
# Doxygen must finish without a warning (WARN_AS_ERROR in the Doxyfile),
# and every function declared CIO_API in the public headers must have its
# man page (man3/<name>.3) and appear in the HTML reference.

file(REMOVE_RECURSE "${OUT}")
execute_process(COMMAND "${DOXYGEN}" "${DOXYFILE}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT err STREQUAL "")
    message(FATAL_ERROR "doxygen failed (${rc}):\n${out}${err}")
endif()

file(GLOB headers "${INCLUDE}/cio.h" "${INCLUDE}/cio/*.h")
set(missing "")
set(n 0)
foreach(h IN LISTS headers)
    file(READ "${h}" text)
    string(REGEX MATCHALL "CIO_API[^;(]*[ *](cio_[a-z0-9_]+)\\(" decls "${text}")
    foreach(d IN LISTS decls)
        string(REGEX MATCH "(cio_[a-z0-9_]+)\\($" _ "${d}")
        set(fn "${CMAKE_MATCH_1}")
        math(EXPR n "${n} + 1")
        if(NOT EXISTS "${OUT}/man/man3/${fn}.3")
            list(APPEND missing "${fn}")
        endif()
    endforeach()
endforeach()
if(n LESS 100)
    message(FATAL_ERROR "only ${n} CIO_API functions found: the scan is broken")
endif()
if(missing)
    message(FATAL_ERROR "no man page for: ${missing}")
endif()
if(NOT EXISTS "${OUT}/html/index.html")
    message(FATAL_ERROR "no HTML reference in ${OUT}/html")
endif()
message(STATUS "docs: ${n} public functions, each with a man page")
