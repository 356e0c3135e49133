#!/usr/bin/env bash
# Runs the daemon's integration test suite (tests/integration/daemon, pytest)
# against the chimed binary of a build directory. The suite starts real chimed
# processes (and the reference service, bench/reference) on free ports.
# Uses Debian's interpreter, which sees the python3-* packages scripts/deps.sh
# installs (a pyenv or venv python3 earlier in PATH would not).
# Usage: bash test_daemon.sh <build dir> [test files of tests/integration/daemon ...]
set -euo pipefail
build=${1:?usage: test_daemon.sh <build dir>}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=/usr/bin/python3
[ -x "$python" ] || python=python3
[ -x "$build/chimed" ] || { echo "no chimed in $build" >&2; exit 1; }
export CHIME_BUILD_DIR=$(cd "$build" && pwd)
export PYTHONDONTWRITEBYTECODE=1
shift
files=()
for f in "$@"; do files+=("$here/daemon/$f"); done
[ ${#files[@]} -gt 0 ] || files=("$here/daemon")
exec "$python" -m pytest "${files[@]}" -q -p no:cacheprovider
