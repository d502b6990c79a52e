# CioTesting.cmake - how test, example and bench sources become targets and
# CTest tests (STYLE.md section 9).
#
# A test source declares its cases in one cmocka array; this module reads
# the source at configure time and registers one CTest test per case,
# named <file-stem>.<case>, running `<exe> <case>`. Editing a test source
# re-runs the scan (CMAKE_CONFIGURE_DEPENDS), so a new case needs no CMake
# change. The scan looks for
#     cmocka_unit_test(NAME)
#     cmocka_unit_test_setup_teardown(NAME, setup, teardown)
#     cmocka_unit_test_prestate(NAME, state)
#     cmocka_unit_test_prestate_setup_teardown(NAME, ...)
# and `tests.case_lists` checks the result against `<exe> --list`, so a case
# the scan cannot see (one built by a macro, say) fails loudly instead of
# never running.
#
# The first 15 lines of a source may carry directives:
#     /* cio-test: label=stress timeout=300 */
# label= adds CTest labels (comma-separated; label=core also puts an
# integration test under valgrind); timeout= replaces the base timeout in
# seconds. Both still get multiplied by CIO_TEST_TIMEOUT_MULTIPLIER.
#
# Backend matrix (STYLE.md section 9): every unit and integration case is
# registered twice, <stem>.<case> with CIO_BACKEND=epoll (label epoll) and
# uring.<stem>.<case> with CIO_BACKEND=uring (label uring, the same kind
# and directive labels but not core: valgrind and TSan stay on epoll), so a
# plain `ctest` runs the suite on both backends. Where io_uring is
# unavailable the uring cases exit 77 and CTest reports them skipped.
# -DCIO_TEST_URING=OFF registers the epoll half only.
option(CIO_TEST_URING "Register every unit/integration test on io_uring too"
       ON)

set(CIO_TEST_TIMEOUT 60 CACHE STRING
    "Base CTest timeout in seconds for every test and example")

# The multiplier is read once, at configure time, from -D or else from the
# environment; sanitizer and valgrind builds use a larger one.
if(NOT DEFINED CACHE{CIO_TEST_TIMEOUT_MULTIPLIER})
    if(DEFINED ENV{CIO_TEST_TIMEOUT_MULTIPLIER})
        set(_cio_mult "$ENV{CIO_TEST_TIMEOUT_MULTIPLIER}")
    else()
        set(_cio_mult 1)
    endif()
    set(CIO_TEST_TIMEOUT_MULTIPLIER "${_cio_mult}" CACHE STRING
        "Factor applied to every test timeout (sanitizers: 3-5)")
endif()
set(CIO_VALGRIND_TIMEOUT_MULTIPLIER 10 CACHE STRING
    "Factor applied to the timeouts of the valgrind.* tests")
foreach(_v CIO_TEST_TIMEOUT CIO_TEST_TIMEOUT_MULTIPLIER
           CIO_VALGRIND_TIMEOUT_MULTIPLIER)
    if(NOT "${${_v}}" MATCHES "^[1-9][0-9]*$")
        message(FATAL_ERROR "${_v} must be a positive integer, not '${${_v}}'")
    endif()
endforeach()

if(CIO_VALGRIND)
    if(CIO_SANITIZE)
        message(FATAL_ERROR "CIO_VALGRIND cannot be combined with CIO_SANITIZE")
    endif()
    find_program(CIO_VALGRIND_EXECUTABLE valgrind REQUIRED)
    set(CIO_VALGRIND_COMMAND
        "${CIO_VALGRIND_EXECUTABLE}"
        --error-exitcode=99
        --leak-check=full
        --errors-for-leak-kinds=definite,indirect
        --track-fds=no
        -q)
endif()

# cio_read_directives(<source> <labels-var> <timeout-var>)
function(cio_read_directives src labels_var timeout_var)
    set(labels "")
    set(timeout "")
    file(STRINGS "${src}" head LIMIT_COUNT 15)
    foreach(line IN LISTS head)
        if(line MATCHES "cio-test:(.*)")
            string(REGEX REPLACE "\\*/.*" "" body "${CMAKE_MATCH_1}")
            string(REGEX MATCHALL "[a-z_]+=[^ \t]+" pairs "${body}")
            foreach(pair IN LISTS pairs)
                string(REGEX MATCH "^([a-z_]+)=(.*)$" _ "${pair}")
                set(key "${CMAKE_MATCH_1}")
                set(value "${CMAKE_MATCH_2}")
                if(key STREQUAL "label")
                    string(REPLACE "," ";" value "${value}")
                    list(APPEND labels ${value})
                elseif(key STREQUAL "timeout" AND value MATCHES "^[0-9]+$")
                    set(timeout "${value}")
                else()
                    message(WARNING "${src}: unknown cio-test directive '${pair}'")
                endif()
            endforeach()
        endif()
    endforeach()
    set(${labels_var} "${labels}" PARENT_SCOPE)
    set(${timeout_var} "${timeout}" PARENT_SCOPE)
endfunction()

# cio_read_cases(<source> <cases-var>)
function(cio_read_cases src cases_var)
    file(STRINGS "${src}" lines REGEX "cmocka_unit_test[a-z_]*[ \t]*\\(")
    set(cases "")
    foreach(line IN LISTS lines)
        # Skip commented-out lines and macro definitions.
        if(line MATCHES "^[ \t]*(//|/\\*|\\*|#)")
            continue()
        endif()
        string(REGEX MATCHALL
               "cmocka_unit_test[a-z_]*[ \t]*\\([ \t]*[A-Za-z_][A-Za-z0-9_]*"
               calls "${line}")
        foreach(call IN LISTS calls)
            string(REGEX REPLACE ".*\\([ \t]*" "" name "${call}")
            if(name IN_LIST cases)
                message(FATAL_ERROR "${src}: test case '${name}' listed twice")
            endif()
            list(APPEND cases "${name}")
        endforeach()
    endforeach()
    set(${cases_var} "${cases}" PARENT_SCOPE)
endfunction()

# cio_test_properties(<test> <timeout> <labels...>)
function(cio_test_properties test timeout)
    set(env "CIO_TEST_TIMEOUT_MULTIPLIER=${CIO_TEST_TIMEOUT_MULTIPLIER}"
            ${CIO_SANITIZER_ENV})
    set_tests_properties("${test}" PROPERTIES
        TIMEOUT "${timeout}"
        SKIP_RETURN_CODE 77
        LABELS "${ARGN}"
        ENVIRONMENT "${env}")
endfunction()

# cio_add_test_file(<source> <kind>)   kind: unit | integration
# Builds tests/<kind>/test_x.c into the executable test_x and registers its
# cases. Appends "<exe-path>|<case,case...>" to CIO_CASE_MANIFEST (a global
# property) for tests.case_lists.
function(cio_add_test_file src kind)
    get_filename_component(stem "${src}" NAME_WE)
    if(TARGET "${stem}")
        message(FATAL_ERROR "${src}: a test named ${stem} already exists "
                            "(test file stems must be unique across tests/)")
    endif()
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${src}")

    add_executable("${stem}" "${src}")
    target_include_directories("${stem}" PRIVATE
        "${PROJECT_SOURCE_DIR}/include"
        "${PROJECT_SOURCE_DIR}/src"
        "${PROJECT_SOURCE_DIR}/tests/support")
    if(TARGET cio_test_support)
        target_link_libraries("${stem}" PRIVATE cio_test_support)
    endif()
    target_link_libraries("${stem}" PRIVATE cio_static cio_cmocka)
    set_target_properties("${stem}" PROPERTIES
        RUNTIME_OUTPUT_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}")
    cio_target_warnings("${stem}")

    cio_read_directives("${src}" extra_labels timeout)
    if(NOT timeout)
        set(timeout "${CIO_TEST_TIMEOUT}")
    endif()
    math(EXPR timeout "${timeout} * ${CIO_TEST_TIMEOUT_MULTIPLIER}")
    math(EXPR vg_timeout "${timeout} * ${CIO_VALGRIND_TIMEOUT_MULTIPLIER}")
    math(EXPR vg_mult
         "${CIO_TEST_TIMEOUT_MULTIPLIER} * ${CIO_VALGRIND_TIMEOUT_MULTIPLIER}")

    set(labels "${kind}" ${extra_labels})
    if(kind STREQUAL "unit" AND stem IN_LIST CIO_CORE_TESTS)
        list(APPEND labels core)
    endif()
    list(REMOVE_DUPLICATES labels)

    cio_read_cases("${src}" cases)
    list(JOIN cases "," cases_csv)
    set_property(GLOBAL APPEND PROPERTY CIO_CASE_MANIFEST
                 "$<TARGET_FILE:${stem}>|${cases_csv}")
    if(NOT cases)
        message(WARNING "${src}: no cmocka_unit_test(...) cases found; "
                        "registering the whole file as one test")
        add_test(NAME "${stem}" COMMAND "${stem}")
        cio_test_properties("${stem}" "${timeout}" ${labels})
        return()
    endif()

    set(uring_labels ${labels})
    list(REMOVE_ITEM uring_labels core)
    foreach(case IN LISTS cases)
        set(name "${stem}.${case}")
        add_test(NAME "${name}" COMMAND "${stem}" "${case}")
        cio_test_properties("${name}" "${timeout}" ${labels} epoll)
        set_property(TEST "${name}" APPEND PROPERTY ENVIRONMENT
                     CIO_BACKEND=epoll)
        if(CIO_TEST_URING)
            add_test(NAME "uring.${name}" COMMAND "${stem}" "${case}")
            cio_test_properties("uring.${name}" "${timeout}" ${uring_labels}
                                uring)
            set_property(TEST "uring.${name}" APPEND PROPERTY ENVIRONMENT
                         CIO_BACKEND=uring)
        endif()
        if(CIO_VALGRIND AND "core" IN_LIST labels)
            add_test(NAME "valgrind.${name}"
                     COMMAND ${CIO_VALGRIND_COMMAND}
                             "$<TARGET_FILE:${stem}>" "${case}")
            set_tests_properties("valgrind.${name}" PROPERTIES
                TIMEOUT "${vg_timeout}"
                SKIP_RETURN_CODE 77
                LABELS valgrind
                ENVIRONMENT "CIO_TEST_TIMEOUT_MULTIPLIER=${vg_mult}")
        endif()
    endforeach()
endfunction()

# cio_add_example(<source>)
# examples/x.c becomes build/examples/x, smoke-run as example.x.
function(cio_add_example src)
    get_filename_component(stem "${src}" NAME_WE)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${src}")
    set(target "example_${stem}")
    add_executable("${target}" "${src}")
    # Examples use the public API only: no src/ include directory.
    target_link_libraries("${target}" PRIVATE cio_static)
    # ENABLE_EXPORTS (-rdynamic): task dumps can name cio's functions.
    set_target_properties("${target}" PROPERTIES
        OUTPUT_NAME "${stem}"
        ENABLE_EXPORTS ON
        RUNTIME_OUTPUT_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}")
    cio_target_warnings("${target}")

    cio_read_directives("${src}" extra_labels timeout)
    if(NOT timeout)
        set(timeout "${CIO_TEST_TIMEOUT}")
    endif()
    math(EXPR timeout "${timeout} * ${CIO_TEST_TIMEOUT_MULTIPLIER}")
    add_test(NAME "example.${stem}" COMMAND "${target}")
    cio_test_properties("example.${stem}" "${timeout}" example ${extra_labels})
endfunction()

# cio_add_bench(<source>)
# bench/x.c becomes build/bench/x (built, never registered with CTest).
function(cio_add_bench src)
    get_filename_component(stem "${src}" NAME_WE)
    set(target "bench_${stem}")
    add_executable("${target}" "${src}")
    target_include_directories("${target}" PRIVATE
        "${PROJECT_SOURCE_DIR}/include" "${PROJECT_SOURCE_DIR}/src")
    target_link_libraries("${target}" PRIVATE cio_static m)
    set_target_properties("${target}" PROPERTIES
        OUTPUT_NAME "${stem}"
        RUNTIME_OUTPUT_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}")
    cio_target_warnings("${target}")
endfunction()
