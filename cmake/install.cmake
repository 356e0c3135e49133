# Installation: `cmake --install` puts chimed, chimectl, libchime (shared and
# static), the public headers, chime.pc, the man pages and the systemd unit in
# place under CMAKE_INSTALL_PREFIX (and DESTDIR). Included from CMakeLists.txt
# after the targets are defined. tests/integration/test_install.sh checks it.
include(GNUInstallDirs)

# libchime as a shared library, from the same objects as the static one. Only
# the CHIME_API symbols of include/chime/ are exported (-fvisibility=hidden);
# the programs and tests keep linking the static archive, which also holds the
# internal chime__ symbols they use. SONAME libchime.so.<major>.
add_library(chime_shared SHARED ${CHIME_OBJECTS})
set_target_properties(chime_shared PROPERTIES OUTPUT_NAME chime VERSION ${PROJECT_VERSION}
                      SOVERSION ${PROJECT_VERSION_MAJOR})
target_link_libraries(chime_shared PRIVATE PkgConfig::JANSSON PkgConfig::SQLITE3 PkgConfig::CURL
                      PkgConfig::PQ Threads::Threads m ${CMAKE_DL_LIBS})
# Every symbol resolved at link time (not under sanitizers or fuzzing, whose
# runtimes are linked into the programs only).
if(NOT CHIME_SANITIZE AND NOT CHIME_FUZZ)
  target_link_options(chime_shared PRIVATE -Wl,--no-undefined)
endif()

# chime.pc and chimed.service name installed paths, so they are written at
# install time, for the prefix given then (`cmake --install --prefix`), by
# cmake/install_paths.cmake.
install(CODE "
  set(CHIME_SOURCE_DIR \"${CMAKE_SOURCE_DIR}\")
  set(CHIME_BINARY_DIR \"${CMAKE_BINARY_DIR}\")
  set(CHIME_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  set(CHIME_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(CHIME_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  include(\"${CMAKE_SOURCE_DIR}/cmake/install_paths.cmake\")
")

install(TARGETS chimed chimectl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS chime ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS chime_shared LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT Unspecified)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/chime DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
install(FILES ${CMAKE_SOURCE_DIR}/docs/man/chimed.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${CMAKE_SOURCE_DIR}/docs/man/chimectl.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/chimed.env.example DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB CHIME_DOCS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${CHIME_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR})
