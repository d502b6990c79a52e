# CioInstall.cmake - what `cmake --install` (and `make install`) puts down:
#
#   include/cio.h, include/cio/*.h
#   lib/libcio.a, lib/libcio.so*            (targets cio_static, cio)
#   lib/pkgconfig/cio.pc
#   lib/cmake/cio/cioConfig.cmake, cioConfigVersion.cmake, cioTargets*.cmake
#   share/doc/cio/LICENSE, CHANGELOG.md
#
# The CMake package is relocatable. cio.pc is generated at install time, so
# its prefix is the one given to `cmake --install --prefix` (DESTDIR is
# honoured as usual and does not leak into the file).

include(CMakePackageConfigHelpers)

set(CIO_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/cio"
    CACHE STRING "Where the CMake package files go (relative to the prefix)")

install(FILES "${PROJECT_SOURCE_DIR}/include/cio.h"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/cio"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        OPTIONAL
        FILES_MATCHING PATTERN "*.h")

install(FILES "${PROJECT_SOURCE_DIR}/LICENSE"
              "${PROJECT_SOURCE_DIR}/CHANGELOG.md"
        DESTINATION "${CMAKE_INSTALL_DOCDIR}")

install(TARGETS cio cio_static
    EXPORT cioTargets
    ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
    LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
    RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}"
    INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")

install(EXPORT cioTargets
    NAMESPACE cio::
    FILE cioTargets.cmake
    DESTINATION "${CIO_INSTALL_CMAKEDIR}")

configure_package_config_file(
    "${PROJECT_SOURCE_DIR}/cmake/cioConfig.cmake.in"
    "${PROJECT_BINARY_DIR}/cioConfig.cmake"
    INSTALL_DESTINATION "${CIO_INSTALL_CMAKEDIR}")

if(PROJECT_VERSION_MAJOR EQUAL 0)
    set(_cio_compat SameMinorVersion) # see CIO_SOVERSION
else()
    set(_cio_compat SameMajorVersion)
endif()
write_basic_package_version_file(
    "${PROJECT_BINARY_DIR}/cioConfigVersion.cmake"
    VERSION ${PROJECT_VERSION}
    COMPATIBILITY ${_cio_compat})

install(FILES
    "${PROJECT_BINARY_DIR}/cioConfig.cmake"
    "${PROJECT_BINARY_DIR}/cioConfigVersion.cmake"
    DESTINATION "${CIO_INSTALL_CMAKEDIR}")

# cio.pc: filled in at install time from cmake/cio.pc.in. libdir and
# includedir are kept relative to ${prefix} when they are relative in the
# build, as GNUInstallDirs makes them.
set(_cio_pc_libs_private "-lpthread")
if(CIO_HAVE_URING)
    string(APPEND _cio_pc_libs_private " -luring")
endif()
if(CIO_HAVE_LIBDW)
    string(APPEND _cio_pc_libs_private " -ldw")
endif()
# cio_install_pkgconfig(IN OUT [LIBS_PRIVATE])
# Generates pkgconfig/OUT from the template IN at install time (so the
# prefix is the one given to `cmake --install --prefix`) and installs it.
# The template sees @CIO_PC_VERSION@, @CIO_PC_PREFIX@, @CIO_PC_LIBDIR@,
# @CIO_PC_INCLUDEDIR@, @CIO_PC_DESCRIPTION@ and @CIO_PC_LIBS_PRIVATE@.
# Used by the core here and by cio::http and cio::redis.
function(cio_install_pkgconfig in out)
    set(_libs_private "${ARGN}")
    set(_out "${PROJECT_BINARY_DIR}/pkgconfig/${out}")
    install(CODE "
        set(CIO_PC_VERSION \"${PROJECT_VERSION}\")
        set(CIO_PC_LIBS_PRIVATE \"${_libs_private}\")
        set(CIO_PC_DESCRIPTION \"${PROJECT_DESCRIPTION}\")
        set(CIO_PC_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
        set(CIO_PC_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
        set(CIO_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
        foreach(_d LIBDIR INCLUDEDIR)
            if(NOT IS_ABSOLUTE \"\${CIO_PC_\${_d}}\")
                set(CIO_PC_\${_d} \"\\\${prefix}/\${CIO_PC_\${_d}}\")
            endif()
        endforeach()
        configure_file(\"${in}\" \"${_out}\" @ONLY)
    ")
    install(FILES "${_out}" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
endfunction()

# cio_install_layer(EXPORT_SET FILE TARGET...)
# Installs a layer's libraries (cio::http, cio::redis) and their CMake
# export set FILE beside cio's own package files.
function(cio_install_layer export_set file)
    install(TARGETS ${ARGN}
        EXPORT ${export_set}
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}"
        INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
    install(EXPORT ${export_set}
        NAMESPACE cio::
        FILE ${file}
        DESTINATION "${CIO_INSTALL_CMAKEDIR}")
endfunction()

cio_install_pkgconfig("${PROJECT_SOURCE_DIR}/cmake/cio.pc.in" cio.pc
                      "${_cio_pc_libs_private}")
