#!/usr/bin/env bash
# House rules that a compiler does not check (STYLE.md): no banned functions in
# the library, all allocation through the chime__ wrappers, no TZ games.
set -u
cd "$(dirname "$0")/../.."
passed=0; failed=0
check() { # name, grep -E pattern, files...
  local name=$1 pattern=$2; shift 2
  local hits
  hits=$(grep -nE "$pattern" "$@" 2>/dev/null | grep -v 'style-ok' | grep -vE '^[^:]+:[0-9]+:\s*(\*|/\*|//)' || true)
  if [ -n "$hits" ]; then
    echo "FAIL $name:"; echo "$hits"; failed=$((failed + 1))
  else
    echo "ok   $name"; passed=$((passed + 1))
  fi
}
lib=$(find src jobs -name '*.c' -o -name '*.h' | grep -v '^src/cli/')
check "no setenv/putenv in the library" '\b(setenv|putenv|tzset)\s*\(' $lib
check "no localtime/gmtime/mktime/timegm" '\b(localtime|gmtime|mktime|timegm)(_r)?\s*\(' $lib
check "no unbounded string functions" '\b(strcpy|strcat|sprintf|vsprintf|gets)\s*\(' $lib
check "allocation only through chime__ wrappers" '(^|[^_a-z0-9])(malloc|calloc|realloc|strdup|strndup)\s*\(' \
  $(echo "$lib" | grep -v '^src/base/alloc.c$')
check "no typedef'd structs" 'typedef\s+struct' $lib include/chime/*.h
for f in $lib; do
  head -c 2 "$f" | grep -q '/\*' || { echo "FAIL $f does not start with a comment"; failed=$((failed + 1)); }
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
