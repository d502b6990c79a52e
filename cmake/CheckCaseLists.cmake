# CheckCaseLists.cmake - run by the CTest test tests.case_lists:
#   cmake -DMANIFEST=<file> -P CheckCaseLists.cmake
# Each manifest line is "<test executable>|<case,case,...>", the cases CMake
# found by reading the source. The executable's `--list` output must name
# exactly the same cases, otherwise some case is not registered with CTest
# (or CTest runs a case that does not exist).

file(STRINGS "${MANIFEST}" entries)
set(failed 0)
foreach(entry IN LISTS entries)
    string(FIND "${entry}" "|" bar)
    string(SUBSTRING "${entry}" 0 ${bar} exe)
    math(EXPR bar "${bar} + 1")
    string(SUBSTRING "${entry}" ${bar} -1 expected)
    string(REPLACE "," ";" expected "${expected}")
    execute_process(COMMAND "${exe}" --list
                    OUTPUT_VARIABLE out RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message("FAIL ${exe} --list exited with ${rc}")
        set(failed 1)
        continue()
    endif()
    string(STRIP "${out}" out)
    string(REPLACE "\n" ";" actual "${out}")
    list(SORT actual)
    list(SORT expected)
    if(NOT "${actual}" STREQUAL "${expected}")
        message("FAIL ${exe}:\n  registered: ${expected}\n  --list:     ${actual}")
        set(failed 1)
    else()
        list(LENGTH actual n)
        message("ok   ${exe} (${n} cases)")
    endif()
endforeach()
if(failed)
    message(FATAL_ERROR "test case lists differ (see above); use one "
            "cmocka_unit_test*(name...) per case, written out in the source")
endif()
