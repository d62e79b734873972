#!/usr/bin/env bash
# Generates Python stubs for both services from ../../proto into ./gen.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
proto="$here/../../proto"
python="${PYTHON:-python3}"
rm -rf "$here/gen"
mkdir -p "$here/gen"
mapfile -t files < <(cd "$proto" && find autointel -name '*.proto' | sort)
(cd "$proto" && "$python" -m grpc_tools.protoc -I . \
  --python_out="$here/gen" --grpc_python_out="$here/gen" \
  "${files[@]}")
# google.type comes from googleapis-common-protos; make our generated
# directories importable packages.
find "$here/gen/autointel" -type d -exec touch {}/__init__.py \;
