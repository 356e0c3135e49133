# Embeds the dashboard's static files (ui/*) in the binary: writes one C file
# with a byte array per file and the table chime__ui_assets[] of
#   { "/ui/<name>", content type, bytes, length, "\"<etag>\"" }
# ended by a NULL path. The ETag is the first 16 hex digits of the file's
# SHA-256, so it changes exactly when the file does. Run at build time:
#   cmake -DFILES=<a;b;c> -DOUT=<generated .c> -DINCLUDE=<header> -P embed_ui.cmake
# A file whose extension has no known content type fails the build.
cmake_minimum_required(VERSION 3.19)

foreach(var IN ITEMS FILES OUT INCLUDE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_ui.cmake: -D${var}=... is required")
  endif()
endforeach()

set(type_html "text/html; charset=utf-8")
set(type_css "text/css; charset=utf-8")
set(type_js "text/javascript; charset=utf-8")
set(type_svg "image/svg+xml")

set(arrays "")
set(table "")
set(index 0)
string(REPLACE "," ";" FILES "${FILES}")
foreach(file IN LISTS FILES)
  get_filename_component(name "${file}" NAME)
  get_filename_component(ext "${file}" LAST_EXT)
  string(SUBSTRING "${ext}" 1 -1 ext)
  if(NOT DEFINED type_${ext})
    message(FATAL_ERROR "embed_ui.cmake: ${file}: no content type for .${ext} files")
  endif()
  file(READ "${file}" hex HEX)
  file(SHA256 "${file}" digest)
  string(SUBSTRING "${digest}" 0 16 etag)
  string(LENGTH "${hex}" hex_len)
  math(EXPR size "${hex_len} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line_re)
  string(REGEX REPLACE "(${line_re})" "\\1\n    " bytes "${bytes}")
  string(APPEND arrays "/* ${name} */\nstatic const char asset_${index}[] = {\n    ${bytes}0x00\n};\n\n")
  string(APPEND table "    { \"/ui/${name}\", \"${type_${ext}}\", asset_${index}, ${size}, \"\\\"${etag}\\\"\" },\n")
  math(EXPR index "${index} + 1")
endforeach()

set(out_text "/* Generated from ui/ by cmake/embed_ui.cmake: edit the files in ui/, not this one. */\n")
string(APPEND out_text "#include \"${INCLUDE}\"\n\n${arrays}")
string(APPEND out_text "const struct chime__ui_asset chime__ui_assets[] = {\n${table}    { 0 },\n};\n")
file(WRITE "${OUT}.tmp" "${out_text}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
