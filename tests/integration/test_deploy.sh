#!/usr/bin/env bash
# deploy/ is valid: the systemd unit passes `systemd-analyze verify` (a temp
# copy running the built chimed, since no systemd runs here) and carries its
# hardening; docker-compose.yml parses as YAML with PostgreSQL 16 and two
# chimed nodes probed on /readyz; the Dockerfile's paths exist (COPY sources in
# the tree, COPY --from paths in an install), its runtime packages exist and
# provide every shared library chimed needs; chimed.env.example names only real
# settings and chimed starts on it. Docker itself cannot run here.
set -u
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
deploy=$src/deploy
passed=0; failed=0
check() { if eval "$2"; then passed=$((passed + 1)); else echo "FAIL: $1"; failed=$((failed + 1)); fi; }
tmp=$(mktemp -d)
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
"$build/chimed" --help | grep -E '^  [^ ]' | grep -oE '\b[A-Z][A-Z0-9_]+=' | tr -d = | sort -u >"$tmp/settings"
check "chimed --help names settings ($(wc -l <"$tmp/settings"))" '[ "$(wc -l <"$tmp/settings")" -ge 20 ]'

# 1. The systemd unit.
unit=$deploy/chimed.service
mkdir -p "$tmp/man/man8"; cp "$src/docs/man/chimed.8" "$tmp/man/man8/"
sed "s#^ExecStart=/usr/local/bin/chimed#ExecStart=$build/chimed#" "$unit" >"$tmp/chimed.service"
check "the unit runs /usr/local/bin/chimed (the install rewrites it)" \
  'grep -qx "ExecStart=/usr/local/bin/chimed" "$unit"'
MANPATH=$tmp/man systemd-analyze verify "$tmp/chimed.service" >"$tmp/verify.out" 2>&1; rc=$?
check "systemd-analyze verify: exit 0, no message: $(head -c 400 "$tmp/verify.out")" \
  '[ $rc -eq 0 ] && [ ! -s "$tmp/verify.out" ]'
sed 's/^ProtectSystem=/ProtectSystm=/' "$tmp/chimed.service" >"$tmp/typo.service"
MANPATH=$tmp/man systemd-analyze verify "$tmp/typo.service" >"$tmp/typo.out" 2>&1
check "systemd-analyze verify reports a misspelt key (the check can fail)" \
  'grep -q "Unknown key .ProtectSystm." "$tmp/typo.out"'
for directive in DynamicUser=yes StateDirectory=chime ProtectSystem=strict ProtectHome=yes \
                 NoNewPrivileges=yes PrivateTmp=yes PrivateDevices=yes CapabilityBoundingSet= \
                 "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" SystemCallFilter=@system-service \
                 SystemCallArchitectures=native MemoryDenyWriteExecute=yes; do
  check "the unit sets $directive" 'grep -qx "$directive" "$unit"'
done
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$unit")
check "TimeoutStopSec ($stop s) exceeds the default CHIME_SHUTDOWN_GRACE (30 s)" '[ "${stop:-0}" -gt 30 ]'
systemd-analyze security --offline=yes "$tmp/chimed.service" >"$tmp/security.out" 2>&1
exposure=$(sed -n 's/.*Overall exposure level for chimed.service: \([0-9.]*\).*/\1/p' "$tmp/security.out")
check "systemd-analyze security: exposure ${exposure:-?} is at most 2.0" \
  '[ -n "$exposure" ] && awk "BEGIN{exit !($exposure <= 2.0)}"'

# 2. The compose file.
python3 - "$deploy/docker-compose.yml" "$tmp/settings" "$src" >"$tmp/compose.out" 2>&1 <<'PY'
import os, re, sys, yaml
path, settings_file, src = sys.argv[1:]
doc = yaml.safe_load(open(path))
settings = set(open(settings_file).read().split())
problems = []
def need(cond, what):
    if not cond:
        problems.append(what)
services = doc.get("services", {})
need(set(services) == {"db", "chimed-a", "chimed-b"}, f"services are {sorted(services)}")
db = services.get("db", {})
need(str(db.get("image", "")).startswith("postgres:16"), f"db image is {db.get('image')}")
need("pg_isready" in str(db.get("healthcheck", {}).get("test")), "db has a pg_isready healthcheck")
names, ports = set(), set()
for name in ("chimed-a", "chimed-b"):
    svc = services.get(name, {})
    env = svc.get("environment", {})
    need(isinstance(env, dict), f"{name}: environment is a mapping")
    for key in env:
        need(key in settings, f"{name}: {key} is not a chimed setting")
    need(re.match(r"postgresql://[^@]+@db:5432/", str(env.get("DATABASE_URL", ""))),
         f"{name}: DATABASE_URL {env.get('DATABASE_URL')} is not the db service")
    need(env.get("CHIME_API_TOKEN"), f"{name}: no CHIME_API_TOKEN (it listens on 0.0.0.0)")
    names.add(env.get("CHIME_NODE_NAME"))
    ports.update(p.split(":")[0] for p in svc.get("ports", []))
    need("/readyz" in " ".join(svc.get("healthcheck", {}).get("test", [])), f"{name}: healthcheck on /readyz")
    need(svc.get("depends_on", {}).get("db", {}).get("condition") == "service_healthy",
         f"{name}: waits for a healthy db")
    grace = re.match(r"(\d+)s$", str(svc.get("stop_grace_period", "")))
    need(grace and int(grace.group(1)) > 30, f"{name}: stop_grace_period over 30s")
    b = svc.get("build", {})
    dockerfile = os.path.join(os.path.dirname(path), b.get("context", "."), b.get("dockerfile", "Dockerfile"))
    need(os.path.samefile(dockerfile, os.path.join(src, "deploy/Dockerfile")),
         f"{name}: builds {dockerfile}")
need(len(names) == 2 and None not in names, f"node names {names} are not two distinct names")
need(len(ports) == 2, f"host ports {ports} are not two distinct ports")
print("\n".join(problems) or "ok")
PY
check "docker-compose.yml: $(xargs <"$tmp/compose.out" | head -c 600)" '[ "$(cat "$tmp/compose.out")" = ok ]'

# 3. The Dockerfile.
dockerfile=$deploy/Dockerfile
sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$dockerfile" | grep -v '^ *#' >"$tmp/Dockerfile.joined"
check "every stage is FROM debian:12-slim" \
  '[ "$(grep -c "^FROM " "$tmp/Dockerfile.joined")" -eq 2 ] && ! grep "^FROM " "$tmp/Dockerfile.joined" | grep -qv "^FROM debian:12-slim"'
user=$(grep '^USER ' "$tmp/Dockerfile.joined" | tail -1 | awk '{print $2}')
check "the image runs as a non-root user ($user)" '[ -n "$user" ] && [ "${user%%:*}" != root ] && [ "${user%%:*}" != 0 ]'
grep '^COPY ' "$tmp/Dockerfile.joined" | grep -v -- '--from=' | while read -r _ args; do
  set -- $args; n=$#; i=0
  for s in "$@"; do i=$((i + 1)); [ $i -lt $n ] && echo "$s"; done   # all but the destination
done >"$tmp/copy_sources"
check "the build stage copies sources ($(xargs <"$tmp/copy_sources"))" '[ "$(wc -l <"$tmp/copy_sources")" -ge 5 ]'
while read -r s; do
  check "COPY source $s exists in the tree" '[ -e "$src/$s" ]'
done <"$tmp/copy_sources"
# Every source directory the build reads is copied into the build stage; only
# the test and benchmark globs (tests/, bench/) may be missing there.
for d in $(cat "$src/CMakeLists.txt" "$src"/cmake/*.cmake | grep -o '${CMAKE_SOURCE_DIR}/[A-Za-z_]*' |
           sed 's#.*}/##' | sort -u); do
  case $d in tests|bench) continue ;; esac
  check "the build stage copies $d/, which the build reads" 'grep -q "^$d/\?\$" "$tmp/copy_sources"'
done
# The build stage's context alone (the COPY'd paths) configures as the
# Dockerfile does (the compile itself is left to a real docker build).
mkdir -p "$tmp/ctx"
while read -r s; do cp -r "$src/$s" "$tmp/ctx/"; done <"$tmp/copy_sources"
cmake -S "$tmp/ctx" -B "$tmp/ctx/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_INSTALL_PREFIX=/usr/local >"$tmp/ctx.log" 2>&1; rc=$?
check "the build stage's sources alone configure ($(tail -2 "$tmp/ctx.log" | head -c 300))" '[ $rc -eq 0 ]'
ninja -C "$tmp/ctx/build" -t targets all >"$tmp/ctx.targets" 2>/dev/null
for t in chimed chimectl libchime.a libchime.so; do
  check "and would build $t" 'grep -q "^$t[.0-9]*:" "$tmp/ctx.targets"'
done
DESTDIR=$tmp/out cmake --install "$build" --prefix /usr/local >/dev/null 2>&1
grep '^COPY --from=build ' "$tmp/Dockerfile.joined" | while read -r _ _ args; do
  set -- $args; n=$#; i=0
  for s in "$@"; do i=$((i + 1)); [ $i -lt $n ] && echo "$s"; done
done >"$tmp/from_sources"
check "the Dockerfile copies from the build stage ($(wc -l <"$tmp/from_sources") paths)" '[ -s "$tmp/from_sources" ]'
while read -r s; do
  check "COPY --from=build $s exists after DESTDIR=/out cmake --install" '[ -e "$tmp$s" ]'
done <"$tmp/from_sources"
runtime=$(sed -n '/^FROM debian:12-slim$/,$p' "$tmp/Dockerfile.joined" | sed -n '2,$p' |
  sed -n 's/.*apt-get install -y --no-install-recommends \([^&]*\)&&.*/\1/p' | tail -1)
buildpk=$(sed -n 's/.*apt-get install -y --no-install-recommends \([^&]*\)&&.*/\1/p' "$tmp/Dockerfile.joined" | head -1)
check "runtime packages found ($runtime)" '[ -n "$runtime" ]'
apt-cache show --no-all-versions $buildpk $runtime 2>/dev/null | sed -n 's/^Package: //p' | sort -u >"$tmp/known"
for p in $buildpk $runtime; do
  check "Debian package $p exists" 'grep -qx "$p" "$tmp/known"'
done
apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
  --no-enhances $runtime 2>/dev/null | grep -v '^ ' | sed 's/:.*//' | sort -u >"$tmp/closure"
for lib in $(ldd "$build/chimed" | awk '/=> \//{print $3}'); do
  pkg=$(dpkg -S "$lib" 2>/dev/null || dpkg -S "$(realpath "$lib")" 2>/dev/null ||
        dpkg -S "${lib#/usr}" 2>/dev/null || dpkg -S "/usr$lib" 2>/dev/null)
  pkg=${pkg%%:*}
  check "$(basename "$lib") (${pkg:-no package}) comes with the runtime packages" \
    '[ -n "$pkg" ] && grep -qx "$pkg" "$tmp/closure"'
done

# 4. The env example: real settings only, and chimed starts on it.
grep -oE '^#?[A-Z][A-Z0-9_]*=' "$deploy/chimed.env.example" | tr -d '#=' >"$tmp/env_keys"
check "chimed.env.example sets settings ($(wc -l <"$tmp/env_keys"))" '[ "$(wc -l <"$tmp/env_keys")" -ge 10 ]'
while read -r key; do
  check "chimed.env.example: $key is a chimed setting" 'grep -qx "$key" "$tmp/settings"'
done <"$tmp/env_keys"
touch "$tmp/env.log"
(cd "$tmp" && exec "$build/chimed" --env-file "$deploy/chimed.env.example" --database-url "sqlite:///$tmp/env.db" \
   --port 0 >"$tmp/env.log" 2>&1) & pid=$!
for _ in $(seq 100); do grep -q "listening on" "$tmp/env.log" && break; sleep 0.1; done
url=$(sed -n 's/.*chimed listening on \(http:[^ ]*\).*/\1/p' "$tmp/env.log")
check "chimed starts on chimed.env.example ($(head -c 300 "$tmp/env.log"))" '[ -n "$url" ]'
check "and answers /readyz" '[ -n "$url" ] && curl -fsS "$url/readyz" | grep -q ready'
kill "$pid"; wait "$pid"; rc=$?; pid=
check "and stops with status 0 on SIGTERM" '[ $rc -eq 0 ]'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
