#!/usr/bin/env bash
# `cmake --install` into a temporary prefix (and a DESTDIR) puts every file in
# place; a C program built against the installed libchime through pkg-config
# (shared, then static) runs; the example plugin builds against the installed
# headers; the man pages render without warnings and list every setting of
# `chimed --help` and every action of `chimectl jobs --help`; the installed
# systemd unit passes `systemd-analyze verify`.
set -u
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
passed=0; failed=0
check() { if eval "$2"; then passed=$((passed + 1)); else echo "FAIL: $1"; failed=$((failed + 1)); fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
version=$(sed -n 's/^project(chime VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
major=${version%%.*}

# 1. Install into a prefix; every file is there.
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1; rc=$?
check "cmake --install exits 0 ($(tail -1 "$tmp/install.log"))" '[ $rc -eq 0 ]'
for f in bin/chimed bin/chimectl; do
  check "$f is installed and executable" '[ -x "$prefix/$f" ]'
done
for f in lib/libchime.a "lib/libchime.so.$version" include/chime/chime.h include/chime/scheduler.h \
         include/chime/plugin.h lib/pkgconfig/chime.pc share/man/man8/chimed.8 \
         share/man/man1/chimectl.1 lib/systemd/system/chimed.service \
         share/doc/chime/chimed.env.example share/doc/chime/quickstart.md share/doc/chime/README.md; do
  check "$f is installed" '[ -f "$prefix/$f" ]'
done
check "libchime.so -> libchime.so.$major -> libchime.so.$version" \
  '[ "$(readlink "$prefix/lib/libchime.so")" = "libchime.so.$major" ] &&
   [ "$(readlink "$prefix/lib/libchime.so.$major")" = "libchime.so.$version" ]'
check "the shared library's SONAME is libchime.so.$major" \
  'readelf -d "$prefix/lib/libchime.so.$version" | grep -q "SONAME.*\[libchime.so.$major\]"'
check "the shared library exports only chime_ symbols" \
  '[ -z "$(nm -D --defined-only "$prefix/lib/libchime.so" | awk "{print \$3}" | grep -v "^chime_")" ]'
check "the installed chimed runs (--version)" '[ "$("$prefix/bin/chimed" --version)" = "chimed $version" ]'
check "the installed chimectl runs (--help)" '"$prefix/bin/chimectl" --help | grep -q "^usage: chimectl"'

# 2. pkg-config describes the install.
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
check "pkg-config knows chime $version" '[ "$(pkg-config --modversion chime)" = "$version" ]'
check "pkg-config --cflags points at the installed headers" \
  '[ "$(pkg-config --cflags chime | xargs)" = "-I$prefix/include" ]'

# 3. A program against the installed library only (no source-tree include).
# The build's compiler, and its sanitizers (a sanitized libchime needs their
# runtime in the program too).
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
sanitize=$(sed -n 's/^CHIME_SANITIZE:[A-Z]*=//p' "$build/CMakeCache.txt")
case $sanitize in OFF|FALSE|NO|0) sanitize= ;; esac   # option() without a value
cc=${cc:-cc}
cflags="$(pkg-config --cflags chime)${sanitize:+ -fsanitize=$sanitize}"
$cc -std=c11 -Wall -Werror -o "$tmp/embed_shared" "$src/examples/embed.c" $cflags \
  $(pkg-config --libs chime) -Wl,-rpath,"$prefix/lib" 2>"$tmp/cc.err"; rc=$?
check "links against libchime.so via pkg-config ($(head -c 300 "$tmp/cc.err"))" '[ $rc -eq 0 ]'
check "the shared build needs libchime.so.$major" \
  'readelf -d "$tmp/embed_shared" | grep -q "NEEDED.*\[libchime.so.$major\]"'
static_libs=$(pkg-config --static --libs chime)
static_libs=${static_libs/-lchime/-Wl,-Bstatic -lchime -Wl,-Bdynamic}
$cc -std=c11 -Wall -Werror -o "$tmp/embed_static" "$src/examples/embed.c" $cflags $static_libs \
  2>"$tmp/cc.err"; rc=$?
check "links against libchime.a via pkg-config --static ($(head -c 300 "$tmp/cc.err"))" '[ $rc -eq 0 ]'
check "the static build does not need libchime.so" \
  '! readelf -d "$tmp/embed_static" | grep -q "NEEDED.*libchime"'
for kind in shared static; do
  "$tmp/embed_$kind" "sqlite:///$tmp/$kind.db" >"$tmp/$kind.out" 2>"$tmp/$kind.err"; rc=$?
  check "$kind: the program exits 0" '[ $rc -eq 0 ]'
  check "$kind: its digest job ran at least twice" \
    '[ "$(grep -c "sending daily digest to segment .beta." "$tmp/$kind.err")" -ge 2 ]'
  check "$kind: its bad job was refused naming the field" \
    'grep -q "^refused: trigger_args.seconds" "$tmp/$kind.out"'
done
$cc -std=c11 -Wall -Werror -shared -fPIC $cflags -o "$tmp/hello.so" \
  "$src/examples/plugins/greet/hello.c" 2>"$tmp/cc.err"; rc=$?
check "the example plugin builds against the installed plugin.h ($(head -c 300 "$tmp/cc.err"))" \
  '[ $rc -eq 0 ] && nm -D --defined-only "$tmp/hello.so" | grep -q " chime_plugin_"'

# 4. Man pages: found by man, rendered without warnings.
for page in man8/chimed.8 man1/chimectl.1; do
  LC_ALL=C MANWIDTH=1000 man --warnings -l "$prefix/share/man/$page" >"$tmp/page.txt" 2>"$tmp/page.err"; rc=$?
  check "$page renders (exit 0, $(wc -l <"$tmp/page.txt") lines)" '[ $rc -eq 0 ] && grep -q "^NAME" "$tmp/page.txt"'
  check "$page renders without warnings: $(head -c 300 "$tmp/page.err")" '[ ! -s "$tmp/page.err" ]'
  cp "$tmp/page.txt" "$tmp/$(basename "$page").txt"
  groff -man -ww -z "$prefix/share/man/$page" >"$tmp/groff.err" 2>&1
  check "$page passes groff -ww (every warning): $(head -c 300 "$tmp/groff.err")" '[ ! -s "$tmp/groff.err" ]'
done
check "man finds chimed(8) under the prefix" \
  '[ "$(MANPATH=$prefix/share/man man -w 8 chimed)" = "$prefix/share/man/man8/chimed.8" ]'

# 5. chimed.8 lists every setting of chimed --help: flag, variable, default.
"$prefix/bin/chimed" --help | sed -n '/^settings:/,/^$/p' | grep '^  [-A-Z]' >"$tmp/settings"
check "chimed --help lists settings ($(wc -l <"$tmp/settings"))" '[ "$(wc -l <"$tmp/settings")" -ge 20 ]'
while read -r line; do
  var=$(grep -o '[A-Z][A-Z0-9_]*=' <<<"$line" | head -1 | tr -d =)
  flag=$(grep -o '^--[a-z-]*' <<<"$line")
  default=$("$prefix/bin/chimed" --help | grep -A1 -F -- "$line" | tail -1 | sed -n 's/.*(default: \(.*\))$/\1/p')
  entry=$(grep -m1 -A2 -E "^ +(--[a-z-]+.*, )?$var( \(no flag\))?$" "$tmp/chimed.8.txt")
  check "chimed.8 documents $var" '[ -n "$entry" ]'
  [ -n "$flag" ] && check "chimed.8 gives $var the flag $flag" 'grep -qF -- "$flag" <<<"$entry"'
  check "chimed.8 gives $var the default $default" 'grep -qF -- "Default: $default." <<<"$entry"'
done <"$tmp/settings"
"$prefix/bin/chimectl" jobs --help 2>&1 | sed -n 's/^  jobs \([a-z]*\).*/\1/p' | sort -u >"$tmp/actions"
check "chimectl jobs --help lists actions ($(xargs <"$tmp/actions"))" '[ "$(wc -l <"$tmp/actions")" -ge 8 ]'
while read -r action; do
  check "chimectl.1 documents jobs $action" 'grep -q "^ *jobs $action\b" "$tmp/chimectl.1.txt"'
done <"$tmp/actions"

# 6. The installed unit names the installed chimed and passes systemd-analyze.
unit=$prefix/lib/systemd/system/chimed.service
check "the installed unit runs the installed chimed" 'grep -qx "ExecStart=$prefix/bin/chimed" "$unit"'
MANPATH=$prefix/share/man systemd-analyze verify "$unit" >"$tmp/verify.out" 2>&1; rc=$?
check "systemd-analyze verify accepts the installed unit: $(head -c 400 "$tmp/verify.out")" \
  '[ $rc -eq 0 ] && [ ! -s "$tmp/verify.out" ]'

# 7. DESTDIR: files land below it, the paths inside name the real prefix.
DESTDIR=$tmp/dest cmake --install "$build" --prefix /usr >"$tmp/dest.log" 2>&1; rc=$?
check "DESTDIR install exits 0" '[ $rc -eq 0 ]'
check "DESTDIR install: chimed under DESTDIR/usr/bin" '[ -x "$tmp/dest/usr/bin/chimed" ]'
check "DESTDIR install: chime.pc says prefix=/usr" \
  'grep -qx "prefix=/usr" "$tmp/dest/usr/lib/pkgconfig/chime.pc"'
check "DESTDIR install: the unit runs /usr/bin/chimed" \
  'grep -qx "ExecStart=/usr/bin/chimed" "$tmp/dest/usr/lib/systemd/system/chimed.service"'
check "DESTDIR install writes nothing outside DESTDIR" '[ ! -e /usr/lib/pkgconfig/chime.pc ] || [ /usr/lib/pkgconfig/chime.pc -ot "$tmp" ]'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
