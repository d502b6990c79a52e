# CheckExports.cmake - run by the CTest test abi.exports:
#   cmake -DLIB=<libcio.so> -DSONAME=<libcio.so.X> -DNM=<nm>
#         -DOBJDUMP=<objdump> -P CheckExports.cmake
# The shared library must export the public cio_* API and nothing else
# (no cio__ internals, no stray helpers), and carry its SONAME.

execute_process(COMMAND "${NM}" -D --defined-only "${LIB}"
                OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} -D ${LIB} failed (${rc})")
endif()
string(REPLACE "\n" ";" lines "${out}")
set(bad "")
set(good 0)
foreach(line IN LISTS lines)
    if(NOT line MATCHES "^[0-9a-fA-F]* *([A-Za-z]) ([^@ ]+)")
        continue()
    endif()
    set(kind "${CMAKE_MATCH_1}")
    set(sym "${CMAKE_MATCH_2}")
    if(kind STREQUAL "A") # version node (CIO_0)
        continue()
    endif()
    if(sym MATCHES "^cio_[^_]")
        math(EXPR good "${good} + 1")
    else()
        list(APPEND bad "${sym}")
    endif()
endforeach()
if(bad)
    list(JOIN bad "\n  " bad)
    message(FATAL_ERROR "libcio.so exports symbols outside the cio_ API:\n  ${bad}")
endif()
if(good EQUAL 0)
    message(FATAL_ERROR "libcio.so exports no cio_ symbol (is CIO_API broken?)")
endif()

execute_process(COMMAND "${OBJDUMP}" -p "${LIB}"
                OUTPUT_VARIABLE dyn RESULT_VARIABLE rc)
if(NOT dyn MATCHES "SONAME +${SONAME}")
    message(FATAL_ERROR "libcio.so has no SONAME ${SONAME}")
endif()
message("ok: ${good} cio_ symbols exported, SONAME ${SONAME}")
