# Run at install time (from cmake/install.cmake's install(CODE)): writes
# chime.pc and chimed.service for the install-time CMAKE_INSTALL_PREFIX and
# installs them (file(INSTALL) adds DESTDIR). Relative GNUInstallDirs paths
# are taken below the prefix, absolute ones as they are.
foreach(kind BINDIR LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CHIME_${kind}}")
    set(CHIME_FULL_${kind} "${CHIME_${kind}}")
  else()
    set(CHIME_FULL_${kind} "${CMAKE_INSTALL_PREFIX}/${CHIME_${kind}}")
  endif()
endforeach()

set(CHIME_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
foreach(kind LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CHIME_${kind}}")
    set(CHIME_PC_${kind} "${CHIME_${kind}}")
  else()
    set(CHIME_PC_${kind} "\${prefix}/${CHIME_${kind}}")
  endif()
endforeach()
set(out "${CHIME_BINARY_DIR}/install-generated")
configure_file("${CHIME_SOURCE_DIR}/cmake/chime.pc.in" "${out}/chime.pc" @ONLY)

# The unit in deploy/ runs /usr/local/bin/chimed; point it at this install.
file(READ "${CHIME_SOURCE_DIR}/deploy/chimed.service" unit)
string(REPLACE "/usr/local/bin/chimed" "${CHIME_FULL_BINDIR}/chimed" unit "${unit}")
file(WRITE "${out}/chimed.service" "${unit}")

file(INSTALL DESTINATION "${CHIME_FULL_LIBDIR}/pkgconfig" TYPE FILE FILES "${out}/chime.pc")
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" TYPE FILE
     FILES "${out}/chimed.service")
