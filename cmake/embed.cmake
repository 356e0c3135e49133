# Embeds a text file in the binary: writes a C file defining
#   const char <SYMBOL>[] = { <the file's bytes>, 0 };
# (a byte array, so no character of the file needs escaping; the NUL makes it
# a C string). Run at build time by an add_custom_command:
#   cmake -DIN=<file> -DOUT=<generated .c> -DSYMBOL=<name> [-DINCLUDE=<header>]
#         [-DJSON=ON [-DPYTHON=<python3>]] -P embed.cmake
# With JSON=ON the file must be one valid JSON document, else the build fails
# naming the file and the error: CMake's own parser (string(JSON)) first, then,
# when PYTHON is given, Python's strict json module, which also refuses what
# CMake's parser lets through (comments, trailing commas, text after the
# document) and, here, duplicate keys and NaN/Infinity.
cmake_minimum_required(VERSION 3.19)

foreach(var IN ITEMS IN OUT SYMBOL)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed.cmake: -D${var}=... is required")
  endif()
endforeach()

file(READ "${IN}" text)

if(JSON)
  string(JSON root_type ERROR_VARIABLE json_error TYPE "${text}")
  if(json_error)
    message(FATAL_ERROR "${IN} is not valid JSON: ${json_error}")
  endif()
  if(NOT root_type STREQUAL "OBJECT")
    message(FATAL_ERROR "${IN}: the document must be a JSON object, not ${root_type}")
  endif()
  if(PYTHON)
    set(strict_check [=[
import json, sys
def pairs(items):
    keys = [k for k, _ in items]
    dups = sorted({k for k in keys if keys.count(k) > 1})
    if dups:
        raise ValueError("duplicate key(s) in one object: " + ", ".join(dups))
    return dict(items)
def constant(name):
    raise ValueError(name + " is not JSON")
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        json.load(f, object_pairs_hook=pairs, parse_constant=constant)
except ValueError as e:
    sys.exit(str(e))
]=])
    execute_process(COMMAND "${PYTHON}" -c "${strict_check}" "${IN}"
                    RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
    if(NOT rc EQUAL 0)
      string(STRIP "${err}" err)
      message(FATAL_ERROR "${IN} is not valid JSON: ${err}")
    endif()
  endif()
endif()

file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# 16 bytes a line (CMake regexes have no {n}).
string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line_re)
string(REGEX REPLACE "(${line_re})" "\\1\n    " bytes "${bytes}")

get_filename_component(name "${IN}" NAME)
set(out_text "/* Generated from ${name} by cmake/embed.cmake: edit ${name}, not this file. */\n")
if(DEFINED INCLUDE)
  string(APPEND out_text "#include \"${INCLUDE}\"\n")
endif()
string(APPEND out_text "\nconst char ${SYMBOL}[] = {\n    ${bytes}0x00\n};\n")

file(WRITE "${OUT}" "${out_text}")
