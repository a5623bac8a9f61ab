#!/usr/bin/env bash
# ansible-test sanity on a copy of the tree laid out as ansible_collections/virtcloud/core.
# Offline: ansible-test bootstraps pip in its venvs from a get-pip script it downloads; a
# stand-in at its cache path uses ensurepip + pip (from the package index) instead.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VIRTCLOUD_VENV:-$ROOT/.venv}
PY=$VENV/bin/python
# outside the work tree: inside it, ansible-test would list files through our git (build/ is ignored)
DEST=${TMPDIR:-/tmp}/virtcloud-sanity-$(echo "$ROOT" | md5sum | cut -c1-8)/ansible_collections/virtcloud/core

pip_version=$("$PY" - <<'PY'
import re, ansible_test, os
src = open(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")).read()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
cache=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
if [ ! -s "$cache" ] || ! grep -q virtcloud-standin "$cache"; then
  mkdir -p "$(dirname "$cache")"
  cat >"$cache" <<'PY'
# virtcloud-standin for get-pip.py: ansible-test runs this with pip install arguments.
import subprocess, sys
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
PY
fi

mkdir -p "$DEST"
# only what git would ship: tracked files plus new, not-ignored ones
(cd "$ROOT" && git ls-files -co --exclude-standard) | rsync -a --delete --files-from=- "$ROOT/" "$DEST/"
# drop files git no longer lists
(cd "$DEST" && find . -type f | sed 's|^\./||' | sort) >"$DEST/../.have"
(cd "$ROOT" && git ls-files -co --exclude-standard | sort) >"$DEST/../.want"
comm -23 "$DEST/../.have" "$DEST/../.want" | (cd "$DEST" && xargs -r rm -f)
cd "$DEST"
pyver=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
skip=()
command -v shellcheck >/dev/null 2>&1 || skip+=(--skip-test shellcheck)
exec "$VENV/bin/ansible-test" sanity --local --python "$pyver" --color no "${skip[@]}" "$@"
