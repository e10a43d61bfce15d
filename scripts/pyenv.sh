#!/usr/bin/env bash
# Creates the project's Python virtual environment (.venv/) with cqlsh and the Python
# cassandra-driver from PyPI, plus the compression libraries the driver uses when they are importable
# (lz4: LZ4 on v4 and the v5 segments; python-snappy: Snappy on v3/v4), so the compatibility matrix
# (test/integration/matrix/) runs the driver as users with those packages do. Idempotent: a fast
# no-op when the pinned versions are installed.
#   bash scripts/pyenv.sh            # make or check .venv
#   PYTHON=python3.11 bash scripts/pyenv.sh
#   ZDM_VENV=/some/dir bash scripts/pyenv.sh   # another location (scripts/cqlsh.mjs honours it too)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ZDM_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
# cqlsh 6.2.x is the PyPI packaging of the Cassandra 5.0 cqlsh (Python >= 3.10).
CQLSH_VERSION="6.2.2"
DRIVER_VERSION="3.30.1"
# lz4: the driver's LZ4 compression (v5 segments, v4 frame bodies); python-snappy: Snappy (v3/v4 only).
# Tests pick compression per Cluster.
LZ4_VERSION="4.4.5"
SNAPPY_VERSION="0.7.3"   # python-snappy 0.7 is a pure-Python wheel over cramjam (no C toolchain needed)
STAMP="$VENV/.zdm-pyenv-$CQLSH_VERSION-$DRIVER_VERSION-lz4-$LZ4_VERSION-snappy-$SNAPPY_VERSION"

if [[ -f "$STAMP" && -x "$VENV/bin/cqlsh" && -x "$VENV/bin/python" ]]; then
  echo "pyenv: $VENV is ready (cqlsh $CQLSH_VERSION, cassandra-driver $DRIVER_VERSION, lz4 $LZ4_VERSION, python-snappy $SNAPPY_VERSION)"
  exit 0
fi

start=$(date +%s)
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "pyenv: creating $VENV with $("$PYTHON" --version 2>&1)"
  "$PYTHON" -m venv "$VENV" || {
    echo "pyenv: FAILED to create the virtual environment (on Debian: apt-get install python3-venv)" >&2
    exit 1
  }
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
echo "pyenv: installing cqlsh==$CQLSH_VERSION cassandra-driver==$DRIVER_VERSION lz4==$LZ4_VERSION python-snappy==$SNAPPY_VERSION"
"$VENV/bin/python" -m pip install -q "cqlsh==$CQLSH_VERSION" "cassandra-driver==$DRIVER_VERSION" \
    "lz4==$LZ4_VERSION" "python-snappy==$SNAPPY_VERSION" || {
  echo "pyenv: FAILED: pip install of cqlsh/cassandra-driver/lz4/python-snappy (see the pip output above)" >&2
  exit 1
}
# Smoke test: the driver imports with a usable event loop and sees both compressors, and cqlsh runs.
"$VENV/bin/python" -c "
import cassandra, cassandra.cluster, cassandra.connection as c
missing = [n for n in ('lz4', 'snappy') if n not in c.locally_supported_compressions]
assert not missing, 'the driver cannot use: %s' % missing
print('pyenv: python cassandra-driver', cassandra.__version__, 'compressions', sorted(c.locally_supported_compressions))"
"$VENV/bin/cqlsh" --version
touch "$STAMP"
echo "pyenv: done in $(( $(date +%s) - start ))s"
