#!/usr/bin/env bash
# Build the documentation site: scripts/docs.sh [OUT]  (default build/docs; HTML in OUT/html/index.html)
# antsibull-docs writes RST for every module, plugin and role of this checkout; sphinx-build -W turns
# any warning (a broken reference, bad markup in a DOCUMENTATION block) into a failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$(realpath -m "${1:-$ROOT/build/docs}")
VENV=${VIRTCLOUD_VENV:-$ROOT/.venv}
# the collection as ansible_collections/virtcloud/core, for --use-current
mkdir -p "$ROOT/.collections/ansible_collections/virtcloud"
ln -sfn ../../.. "$ROOT/.collections/ansible_collections/virtcloud/core"
export ANSIBLE_COLLECTIONS_PATH=$ROOT/.collections PATH=$VENV/bin:$PATH
rm -rf "$OUT/rst" "$OUT/html"
mkdir -p "$OUT/rst"
chmod og-w "$OUT/rst"   # antsibull-docs wants the directory writable only by its owner
antsibull-docs --config-file "$ROOT/docs/site/antsibull-docs.cfg" collection --use-current \
  --cleanup everything --dest-dir "$OUT/rst" virtcloud.core
cp "$ROOT/docs/site/index.rst" "$OUT/rst/index.rst"
python "$ROOT/scripts/docs_inventory.py" "$OUT/ansible_devel.inv"
sphinx-build -b html -q -W --keep-going -c "$ROOT/docs/site" "$OUT/rst" "$OUT/html"
echo "docs: $OUT/html/index.html"
