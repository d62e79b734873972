#!/usr/bin/env python3
"""Policy assertions on the rendered manifests of every kustomization in deploy/.

Run by deploy/check.sh with --rendered DIR (DIR/<name>.yaml per kustomization,
as rendered by `kubectl kustomize`); without it, renders them itself with
kubectl from PATH or .venv-ci/bin. Needs PyYAML only. Prints every check and
exits non-zero if any fails.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parent.parent
KUSTOMIZATIONS = {
    "base": "base",
    "local": "overlays/local",
    "production": "overlays/production",
    "production-tls": "overlays/production-tls",
    "production-monitoring": "overlays/production-monitoring",
}
OVERLAYS = ("local", "production", "production-tls", "production-monitoring")
# kustomizations held to the production policies
PRODUCTION = ("production", "production-tls", "production-monitoring")
TLS_KUSTOMIZATIONS = ("production-tls",)  # ones that add components/tls
MONITORING_KUSTOMIZATIONS = ("production-monitoring",)  # ones that add components/monitoring
NAME = "app.kubernetes.io/name"
REQUIRED_LABELS = (NAME, "app.kubernetes.io/part-of", "app.kubernetes.io/component")
SERVICES = {
    # service -> (grpc port, metrics port, config file)
    "autointel-registry": (50051, 9090, "registry.toml"),
    "autointel-stats": (50052, 9091, "stats.toml"),
}
TOKEN_SECRETS = {
    "autointel-registry": {"autointel-registry-tokens"},
    "autointel-stats": {"autointel-stats-tokens", "autointel-stats-registry-token"},
}
DB_KEYS = {"autointel-registry": "registry-url", "autointel-stats": "stats-url"}

# grpc.health.v1 service names (OPERATIONS.md, "Health"). Liveness asks `liveness`, which stays
# SERVING as long as the process runs; readiness and start-up ask the service's own name
# (NOT_SERVING from shutdown on). `""` (the whole server) is for clients, not probes: a liveness
# probe on it would restart a draining pod. The store status is informational only: reads are
# still served while the database cannot take writes, so no probe may follow it.
SERVICE_NAMES = {
    "autointel-registry": "autointel.registry.v1.RegistryService",
    "autointel-stats": "autointel.stats.v1.StatsService",
}
LIVENESS = "liveness"
STORE_HEALTH = "autointel.store.Writable"
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")

# components/tls (OPERATIONS.md, "TLS"): one Secret per service in the kubernetes.io/tls layout
# plus ca.crt, as cert-manager writes it; the gRPC ports speak mutual TLS, and the kubelet's
# gRPC probes (plaintext, no client certificate) go to a plaintext health-only port.
TLS_SECRETS = {"autointel-registry": "autointel-registry-tls", "autointel-stats": "autointel-stats-tls"}
TLS_KEYS = ("tls.crt", "tls.key", "ca.crt")
HEALTH_PORT = 8081
REGISTRY_TLS_ENDPOINT = "https://autointel-registry-headless:50051"
REGISTRY_TLS_NAME = "autointel-registry-headless"  # registry's certificate must carry this DNS name
# settings naming a file the server reads at start-up (a missing one: exit 2)
FILE_SETTINGS = ("auth.tokens_file", "tls.cert_file", "tls.key_file", "tls.client_ca_file",
                 "registry.token_file", "registry.tls.ca_file", "registry.tls.cert_file", "registry.tls.key_file")
FROM_ELSEWHERE = "<valueFrom>"  # an env var set from a Secret or ConfigMap key: value unknown here

# Egress (OPERATIONS.md, "Network policies"): default deny, then DNS to kube-dns, OTLP to the
# collector, PostgreSQL (production only: local runs on SQLite) and stats -> registry's gRPC port.
# The collector's and PostgreSQL's peers are placeholders operators patch; only the ports are fixed.
DNS_PORTS = {("UDP", 53), ("TCP", 53)}
OTLP_PORT = ("TCP", 4317)
POSTGRES_PORT = ("TCP", 5432)

# components/monitoring (OPERATIONS.md, "Metrics and alerts"): the servers' metrics (OPERATIONS.md's
# table; a histogram also has _bucket, _sum and _count), the severities an alert may carry, and the
# alerts OPERATIONS.md recommends, each as (what, predicate on an alerting rule).
METRICS = {"grpc_requests_total", "grpc_request_duration_seconds", "grpc_request_duration_seconds_bucket",
           "grpc_request_duration_seconds_sum", "grpc_request_duration_seconds_count", "grpc_requests_in_flight",
           "autointel_build_info", "autointel_store_writable", "stats_engine_figures",
           "stats_import_figures_total", "stats_registry_calls_total"}
OWN_METRIC = re.compile(r"\b(?:grpc|autointel|stats)_[a-z_]+\b|\bup\b")
SEVERITIES = ("critical", "warning", "info")
REQUIRED_ALERTS = (
    ("storage: autointel_store_writable == 0 for 1m",
     lambda r: "autointel_store_writable" in r["expr"] and re.search(r"==\s*0\b", r["expr"]) and r.get("for") == "1m"),
    ("error ratio of INTERNAL|UNAVAILABLE|UNKNOWN|DATA_LOSS > 1%",
     lambda r: 'code=~"INTERNAL|UNAVAILABLE|UNKNOWN|DATA_LOSS"' in r["expr"] and "> 0.01" in r["expr"]),
    ("load shedding: RESOURCE_EXHAUSTED", lambda r: 'code="RESOURCE_EXHAUSTED"' in r["expr"]),
    ("latency: p99 of grpc_request_duration_seconds",
     lambda r: "histogram_quantile(0.99" in r["expr"] and "grpc_request_duration_seconds_bucket" in r["expr"]),
    ("registry dependency: stats_registry_calls_total unavailable|timeout",
     lambda r: "stats_registry_calls_total" in r["expr"] and 'outcome=~"unavailable|timeout"' in r["expr"]),
    ("auth: UNAUTHENTICATED / PERMISSION_DENIED burst",
     lambda r: "UNAUTHENTICATED" in r["expr"] and "PERMISSION_DENIED" in r["expr"]),
    ("replicas disagree: stats_engine_figures", lambda r: "stats_engine_figures" in r["expr"]),
    ("pod restarts", lambda r: "kube_pod_container_status_restarts_total" in r["expr"]),
    ("readiness", lambda r: "kube_pod_status_ready" in r["expr"]),
)

# PostgreSQL connection budget (OPERATIONS.md, "Connection budget"): with every HPA at
# maxReplicas and a rollout's maxSurge pods on top, the services together must not open more
# than PG_MAX_CONNECTIONS - PG_SUPERUSER_RESERVED - PG_HEADROOM connections. Both databases
# are assumed to live on one PostgreSQL server with its default max_connections.
PG_MAX_CONNECTIONS = 100  # PostgreSQL's default max_connections
PG_SUPERUSER_RESERVED = 3  # PostgreSQL's default superuser_reserved_connections
PG_HEADROOM = 17  # psql sessions, pg_dump, a metrics exporter, pods still terminating after a rollout
PG_BUDGET = PG_MAX_CONNECTIONS - PG_SUPERUSER_RESERVED - PG_HEADROOM
DEFAULT_MAX_CONNECTIONS = 8  # database.max_connections when neither the config nor the env sets it


class Checker:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, where: str, cond: bool, what: str) -> None:
        if cond:
            self.passed += 1
            print(f"  ok    {where}: {what}")
        else:
            self.failed += 1
            print(f"  FAIL  {where}: {what}")


def render(name: str) -> list[dict]:
    kubectl = shutil.which("kubectl") or str(DEPLOY.parent / ".venv-ci" / "bin" / "kubectl")
    out = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY / KUSTOMIZATIONS[name])],
        check=True, capture_output=True, text=True,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def load(rendered: Path | None, name: str) -> list[dict]:
    if rendered is None:
        return render(name)
    with open(rendered / f"{Path(KUSTOMIZATIONS[name]).name}.yaml") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def of_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def selects(selector: dict, labels: dict) -> bool:
    """matchLabels-only selector semantics (all this repo uses); {} selects all."""
    if selector.get("matchExpressions"):
        raise AssertionError("matchExpressions not supported by this test")
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def effective(pod_sc: dict, c_sc: dict, key: str):
    return c_sc.get(key, pod_sc.get(key))


def env_var(key: str) -> str:
    """The environment variable of a setting: `registry.tls.ca_file` -> AUTOINTEL_REGISTRY__TLS__CA_FILE."""
    return "AUTOINTEL_" + key.upper().replace(".", "__")


def setting(c: dict, cfg: dict, key: str):
    """A setting as the server sees it: the container's AUTOINTEL_… variable, else the config file."""
    var = next((e for e in c.get("env", []) if e["name"] == env_var(key)), None)
    if var is not None:
        return var.get("value", FROM_ELSEWHERE)
    node = cfg
    for part in key.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def port_of(address) -> int | None:
    try:
        return int(str(address).rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


def container_config(c: dict, pod: dict, configmaps: dict[str, dict], config_file: str) -> dict:
    """The parsed config file a container reads from the ConfigMap mounted at /etc/autointel ({} if none)."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mount = next((m for m in c.get("volumeMounts", []) if m["mountPath"] == "/etc/autointel"), None)
    cm = configmaps.get(volumes.get(mount["name"], {}).get("configMap", {}).get("name", "") if mount else "", {})
    return tomllib.loads(cm.get("data", {}).get(config_file, ""))


def probe_service(c: dict, probe: str) -> str | None:
    """The grpc.health.v1 service a container's probe asks for (None: no grpc probe)."""
    g = (c.get(probe) or {}).get("grpc")
    return None if g is None else g.get("service", "")


def check_probes(ck: Checker, cw: str, name: str, c: dict, port: int) -> None:
    want = {"startupProbe": SERVICE_NAMES[name], "readinessProbe": SERVICE_NAMES[name], "livenessProbe": LIVENESS}
    for probe, service in want.items():
        g = (c.get(probe) or {}).get("grpc")
        ck.check(cw, g is not None and g.get("port") == port and g.get("service", "") == service,
                 f"{probe} is a native grpc probe on {port}, service \"{service}\"")
    live = probe_service(c, "livenessProbe")
    ck.check(cw, live not in ("", SERVICE_NAMES[name], STORE_HEALTH),
             f"livenessProbe follows neither \"\" nor {SERVICE_NAMES[name]} nor {STORE_HEALTH} (got {live!r})")
    ck.check(cw, all(probe_service(c, p) != STORE_HEALTH for p in PROBES),
             f"no probe follows {STORE_HEALTH} (reads are served while writes fail)")


def check_workloads(ck: Checker, env: str, docs: list[dict]) -> None:
    configmaps = of_kind(docs, "ConfigMap")
    for name, dep in of_kind(docs, "Deployment").items():
        where = f"{env}/deployment/{name}"
        grpc_port, metrics_port, config_file = SERVICES[name]
        pod = dep["spec"]["template"]["spec"]
        pod_labels = dep["spec"]["template"]["metadata"].get("labels", {})
        psc = pod.get("securityContext", {})
        ck.check(where, all(k in pod_labels for k in REQUIRED_LABELS), "pod template has name/part-of/component labels")
        ck.check(where, pod.get("automountServiceAccountToken") is False, "no service account token mounted")
        ck.check(where, psc.get("fsGroup") == 65532, "pod fsGroup 65532")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        containers = pod.get("initContainers", []) + pod["containers"]
        for c in containers:
            cw = f"{where}/{c['name']}"
            sc = c.get("securityContext", {})
            ck.check(cw, effective(psc, sc, "runAsNonRoot") is True, "runAsNonRoot")
            ck.check(cw, effective(psc, sc, "runAsUser") == 65532 and effective(psc, sc, "runAsGroup") == 65532,
                     "runs as 65532:65532")
            ck.check(cw, sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem")
            ck.check(cw, sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation false")
            ck.check(cw, not sc.get("privileged", False), "not privileged")
            ck.check(cw, sc.get("capabilities", {}).get("drop") == ["ALL"] and not sc["capabilities"].get("add"),
                     "capabilities drop ALL, add none")
            seccomp = effective(psc, sc, "seccompProfile") or {}
            ck.check(cw, seccomp.get("type") == "RuntimeDefault", "seccomp RuntimeDefault")
            res = c.get("resources", {})
            ck.check(cw, all(k in res.get(s, {}) for s in ("requests", "limits") for k in ("cpu", "memory")),
                     "cpu and memory requests and limits")
            ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
            ck.check(cw, ports.get("grpc") == grpc_port and ports.get("metrics") == metrics_port,
                     f"ports grpc={grpc_port} metrics={metrics_port}")
            mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
            tmp = mounts.get("/tmp")
            ck.check(cw, tmp is not None and "emptyDir" in volumes.get(tmp["name"], {}), "/tmp is an emptyDir")
            data = mounts.get("/var/lib/autointel")
            ck.check(cw, data is not None and not data.get("readOnly", False), "/var/lib/autointel mounted writable")
            for secret in TOKEN_SECRETS[name]:
                vol = next((v for v in volumes.values() if v.get("secret", {}).get("secretName") == secret), None)
                ck.check(cw, vol is not None and any(m["name"] == vol["name"] and m.get("readOnly")
                                                     for m in mounts.values()),
                         f"Secret {secret} mounted read-only")
            # the config file the container is told to read is the one the ConfigMap provides
            args = c.get("args", [])
            path = f"/etc/autointel/{config_file}"
            ck.check(cw, args[args.index("--config") + 1: args.index("--config") + 2] == [path]
                     if "--config" in args else False, f"--config {path}")
            cfg_mount = mounts.get("/etc/autointel")
            cm_name = volumes.get(cfg_mount["name"], {}).get("configMap", {}).get("name") if cfg_mount else None
            cm = configmaps.get(cm_name or "")
            ck.check(cw, cm is not None and config_file in cm.get("data", {}),
                     f"ConfigMap {cm_name} mounted at /etc/autointel with {config_file}")
            if cm is None or config_file not in cm.get("data", {}):
                continue
            cfg = tomllib.loads(cm["data"][config_file])
            server = cfg.get("server", {})
            ck.check(cw, setting(c, cfg, "server.listen_address") == f"0.0.0.0:{grpc_port}"
                     and setting(c, cfg, "server.metrics_address") == f"0.0.0.0:{metrics_port}",
                     "config listen/metrics addresses match the container ports")
            # kubelet gRPC probes are plaintext and send no client certificate (Kubernetes 1.30-1.35):
            # once the gRPC port speaks TLS they must go to the plaintext health-only port
            if setting(c, cfg, "tls.cert_file"):
                health_port = port_of(setting(c, cfg, "server.health_address"))
                ck.check(cw, health_port is not None and health_port not in (grpc_port, metrics_port),
                         "the gRPC port speaks TLS: server.health_address sets a separate plaintext port for probes")
                check_probes(ck, cw, name, c, health_port or -1)
            else:
                check_probes(ck, cw, name, c, grpc_port)
            pre_stop = (c.get("lifecycle", {}).get("preStop") or {}).get("sleep", {}).get("seconds", 0)
            grace = server.get("shutdown_grace_seconds", 0)
            ck.check(cw, pod.get("terminationGracePeriodSeconds", 30) > grace + pre_stop,
                     f"terminationGracePeriodSeconds > preStop {pre_stop}s + shutdown grace {grace}s")
            if name == "autointel-stats":
                ck.check(cw, setting(c, cfg, "registry.endpoint") in ("http://autointel-registry-headless:50051",
                                                                      REGISTRY_TLS_ENDPOINT)
                         and setting(c, cfg, "registry.load_balancing") == "dns",
                         "stats calls every registry pod through the headless Service")


def check_services(ck: Checker, env: str, docs: list[dict]) -> None:
    deployments = of_kind(docs, "Deployment")
    for name, (grpc_port, metrics_port, _) in SERVICES.items():
        where = f"{env}/service/{name}"
        svc = of_kind(docs, "Service").get(name)
        ck.check(where, svc is not None and svc["spec"].get("type", "ClusterIP") == "ClusterIP", "ClusterIP Service")
        if svc is None:
            continue
        ports = {p["name"]: p for p in svc["spec"]["ports"]}
        ck.check(where, ports.get("grpc", {}).get("port") == grpc_port
                 and ports["grpc"].get("appProtocol") == "grpc", f"port grpc {grpc_port}, appProtocol grpc")
        ck.check(where, ports.get("metrics", {}).get("port") == metrics_port, f"port metrics {metrics_port}")
        dep = deployments.get(name)
        ck.check(where, dep is not None and selects({"matchLabels": svc["spec"]["selector"]},
                                                    dep["spec"]["template"]["metadata"]["labels"]),
                 "selects its Deployment's pods")
    where = f"{env}/service/autointel-registry-headless"
    headless = of_kind(docs, "Service").get("autointel-registry-headless")
    ck.check(where, headless is not None and headless["spec"].get("clusterIP") == "None",
             "headless (clusterIP: None)")
    if headless is not None:
        ports = {p["name"]: p for p in headless["spec"]["ports"]}
        ck.check(where, ports.get("grpc", {}).get("port") == SERVICES["autointel-registry"][0],
                 "serves the registry's gRPC port")
        registry = deployments.get("autointel-registry")
        ck.check(where, registry is not None and selects(
            {"matchLabels": headless["spec"]["selector"]},
            registry["spec"]["template"]["metadata"]["labels"]), "selects the registry's pods")
        ck.check(where, not headless["spec"].get("publishNotReadyAddresses", False),
                 "resolves to ready pods only")
    for d in docs:
        labels = d["metadata"].get("labels", {})
        ck.check(f"{env}/{d['kind'].lower()}/{d['metadata']['name']}",
                 labels.get("app.kubernetes.io/part-of") == "autointel", "labelled part-of autointel")
    ck.check(env, not of_kind(docs, "Secret"), "no Secret objects rendered (operators create them)")


def ingress_rules_for(docs: list[dict], pod_labels: dict) -> tuple[list[dict], bool]:
    """All ingress rules of the policies selecting these pods, and whether any policy selects them."""
    rules, selected = [], False
    for pol in of_kind(docs, "NetworkPolicy").values():
        spec = pol["spec"]
        if "Ingress" in spec.get("policyTypes", ["Ingress"]) and selects(spec["podSelector"], pod_labels):
            selected = True
            rules.extend(spec.get("ingress") or [])
    return rules, selected


def rule_ports(rule: dict) -> set:
    return {p.get("port") for p in rule.get("ports") or [{"port": None}]}  # no ports: all ports


def check_network_policies(ck: Checker, env: str, docs: list[dict]) -> None:
    deployments = of_kind(docs, "Deployment")
    stats_labels = deployments["autointel-stats"]["spec"]["template"]["metadata"]["labels"]
    monitoring = {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    for name, (grpc_port, metrics_port, _) in SERVICES.items():
        where = f"{env}/networkpolicy/{name}"
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        rules, selected = ingress_rules_for(docs, labels)
        ck.check(where, selected, "pods are selected by an Ingress policy (default deny)")
        grpc_rules = [r for r in rules if grpc_port in rule_ports(r) or None in rule_ports(r)]
        ck.check(where, bool(grpc_rules), f"some rule admits gRPC port {grpc_port}")
        ck.check(where, all(r.get("from") for r in rules), "no rule admits every source")
        ck.check(where, all(None not in rule_ports(r) for r in rules), "every rule names its ports")
        peers = [p for r in grpc_rules for p in r.get("from") or [{}]]
        if name == "autointel-registry":
            only_stats = bool(peers) and all(
                set(p) == {"podSelector"} and p["podSelector"].get("matchLabels")
                and selects(p["podSelector"], stats_labels)
                and p["podSelector"]["matchLabels"].get(NAME) == "autointel-stats"
                for p in peers
            )
            ck.check(where, only_stats, "gRPC only from pods labelled app.kubernetes.io/name=autointel-stats")
            ck.check(where, all(rule_ports(r) <= {grpc_port} for r in grpc_rules),
                     "the stats rule opens the gRPC port only")
        else:
            ck.check(where, any(set(p) == {"podSelector"} and p["podSelector"] == {} for p in peers),
                     "gRPC from any pod in the namespace")
        metric_peers = [p for r in rules if metrics_port in rule_ports(r) for p in r.get("from") or [{}]]
        ck.check(where, bool(metric_peers) and all(p == {"namespaceSelector": monitoring} for p in metric_peers),
                 f"metrics port {metrics_port} only from the monitoring namespace")
        ck.check(where, all(rule_ports(r) <= {grpc_port, metrics_port} for r in rules),
                 "no other port is opened")


def policy_types(spec: dict) -> list[str]:
    """A NetworkPolicy's policyTypes as the API server defaults them."""
    return spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))


def egress_rules_for(docs: list[dict], pod_labels: dict) -> tuple[list[dict], bool]:
    """All egress rules of the policies selecting these pods, and whether any Egress policy selects them
    (once one does, everything its rules and the other policies' rules do not allow is denied)."""
    rules, selected = [], False
    for pol in of_kind(docs, "NetworkPolicy").values():
        spec = pol["spec"]
        if "Egress" in policy_types(spec) and selects(spec["podSelector"], pod_labels):
            selected = True
            rules.extend(spec.get("egress") or [])
    return rules, selected


def rule_protocol_ports(rule: dict) -> set:
    """{(protocol, port)}; (None, None) for a rule without ports (every port)."""
    if not rule.get("ports"):
        return {(None, None)}
    return {(p.get("protocol", "TCP"), p.get("port")) for p in rule["ports"]}


def peer_is_everything(peer: dict) -> bool:
    """A peer admitting every destination: {} or an ipBlock of prefix length 0 (0.0.0.0/0, ::/0)."""
    if not peer:
        return True
    block = peer.get("ipBlock")
    return block is not None and ipaddress.ip_network(block["cidr"], strict=False).prefixlen == 0


def check_egress(ck: Checker, env: str, docs: list[dict]) -> None:
    """Every pod's egress is limited (default deny) to DNS, the collector, PostgreSQL (not on SQLite)
    and, for stats, registry's gRPC port; no rule admits every destination or every port."""
    deployments = of_kind(docs, "Deployment")
    registry_labels = deployments["autointel-registry"]["spec"]["template"]["metadata"]["labels"]
    stats_labels = deployments["autointel-stats"]["spec"]["template"]["metadata"]["labels"]
    registry_grpc = ("TCP", SERVICES["autointel-registry"][0])
    on_postgres = env in PRODUCTION
    for name in SERVICES:
        where = f"{env}/networkpolicy/{name}/egress"
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        rules, selected = egress_rules_for(docs, labels)
        ck.check(where, selected, "pods are selected by an Egress policy (egress denied by default)")
        ck.check(where, all(r.get("to") for r in rules) and not any(peer_is_everything(p) for r in rules
                                                                    for p in r.get("to") or []),
                 "no rule admits every destination (no missing `to`, no {} peer, no 0.0.0.0/0 or ::/0)")
        ck.check(where, all((None, None) not in rule_protocol_ports(r) for r in rules), "every rule names its ports")
        in_namespace = [p["podSelector"] for r in rules for p in r.get("to") or []
                        if "podSelector" in p and "namespaceSelector" not in p]
        ck.check(where, all(sel.get("matchLabels") for sel in in_namespace),
                 "no rule admits every pod of the namespace (podSelector: {})")
        allowed = set().union(*(rule_protocol_ports(r) for r in rules)) if rules else set()
        want = DNS_PORTS | {OTLP_PORT} | ({POSTGRES_PORT} if on_postgres else set()) \
            | ({registry_grpc} if name == "autointel-stats" else set())
        ck.check(where, allowed == want,
                 f"egress ports exactly {sorted(want, key=str)} (got {sorted(allowed, key=str)})")
        dns = [r for r in rules if DNS_PORTS <= rule_protocol_ports(r)]
        ck.check(where, any(p.get("namespaceSelector", {}).get("matchLabels") == {"kubernetes.io/metadata.name":
                                                                                   "kube-system"}
                            and p.get("podSelector", {}).get("matchLabels") == {"k8s-app": "kube-dns"}
                            for r in dns for p in r.get("to") or []),
                 "DNS (53/UDP and 53/TCP) to the kube-dns pods of kube-system")
        ck.check(where, any(OTLP_PORT in rule_protocol_ports(r) for r in rules),
                 f"OTLP to the collector ({OTLP_PORT[1]}/{OTLP_PORT[0]}, placeholder peer)")
        pg = [r for r in rules if POSTGRES_PORT in rule_protocol_ports(r)]
        if on_postgres:
            ck.check(where, bool(pg) and all(rule_protocol_ports(r) == {POSTGRES_PORT} for r in pg),
                     f"PostgreSQL ({POSTGRES_PORT[1]}/{POSTGRES_PORT[0]}, placeholder peer) in a rule of its own")
        else:
            ck.check(where, not pg, f"no PostgreSQL rule (SQLite): {POSTGRES_PORT[1]} stays closed")
        to_registry = [r for r in rules if registry_grpc in rule_protocol_ports(r)
                       and any(set(p) == {"podSelector"} and selects(p["podSelector"], registry_labels)
                               for p in r.get("to") or [])]
        to_stats = [p for r in rules for p in r.get("to") or [] if "podSelector" in p and "namespaceSelector" not in p
                    and selects(p["podSelector"], stats_labels)]
        if name == "autointel-stats":
            ck.check(where, bool(to_registry) and all(rule_protocol_ports(r) == {registry_grpc} for r in to_registry),
                     f"stats may reach registry's pods on gRPC port {registry_grpc[1]} (and no other port of theirs)")
        else:
            ck.check(where, not to_registry and not to_stats, "registry calls no other autointel pod")


def own_selectors(expr: str):
    """(metric, matchers) of every selector of a server metric (or `up`) in a PromQL expression."""
    for m in OWN_METRIC.finditer(expr):
        rest = expr[m.end():].lstrip()
        matchers = rest[1:rest.index("}")] if rest.startswith("{") else ""
        yield m.group(0), matchers


def job_matcher_ok(matchers: str, jobs: set[str]) -> bool:
    """The selector names the job: job="x" with x a monitored job, or job=~"re" matching only such jobs."""
    m = re.search(r'\bjob\s*(=~|=)\s*"([^"]*)"', matchers)
    if m is None:
        return False
    if m.group(1) == "=":
        return m.group(2) in jobs
    return any(re.fullmatch(m.group(2), j) for j in jobs) and not re.fullmatch(m.group(2), "some-other-app")


def check_monitoring(ck: Checker, env: str, docs: list[dict], production: list[dict]) -> None:
    """components/monitoring: a PodMonitor scrapes each Deployment's metrics port, and the
    PrometheusRule holds the alerts OPERATIONS.md recommends, each complete and scoped to these jobs."""
    deployments = of_kind(docs, "Deployment")
    monitors = list(of_kind(docs, "PodMonitor").values())
    jobs = set()
    for name, dep in deployments.items():
        where = f"{env}/podmonitor/{name}"
        labels = dep["spec"]["template"]["metadata"]["labels"]
        ports = {p["name"]: p["containerPort"] for c in dep["spec"]["template"]["spec"]["containers"]
                 for p in c.get("ports", [])}
        namespace = dep["metadata"].get("namespace")
        scraping = [(m, ep) for m in monitors
                    if m["metadata"].get("namespace") == namespace and not m["spec"].get("namespaceSelector")
                    and selects(m["spec"]["selector"], labels)
                    for ep in m["spec"].get("podMetricsEndpoints", []) if ep.get("port") in ports]
        metrics_port = SERVICES[name][1]
        ck.check(where, len(scraping) == 1 and ports.get(scraping[0][1]["port"]) == metrics_port,
                 f"one PodMonitor endpoint in namespace {namespace} scrapes the pods' metrics port {metrics_port}")
        for m, ep in scraping:
            ck.check(where, ep.get("path", "/metrics") == "/metrics" and ep.get("scheme", "http").lower() == "http",
                     "GET /metrics over plain HTTP (the metrics port does not speak TLS)")
            job = labels.get(m["spec"].get("jobLabel", ""))
            ck.check(where, job == name, f"job label {name} (jobLabel {m['spec'].get('jobLabel')!r} -> {job!r})")
            jobs.add(job)
    rules = [(g["name"], r) for pr in of_kind(docs, "PrometheusRule").values() for g in pr["spec"]["groups"]
             for r in g.get("rules", [])]
    alerts = [(g, r) for g, r in rules if "alert" in r]
    ck.check(env, bool(alerts) and len(alerts) == len(rules), f"a PrometheusRule with {len(alerts)} alerts, no other rule")
    ck.check(env, len({r["alert"] for _, r in alerts}) == len(alerts), "alert names are unique")
    for group, r in alerts:
        where = f"{env}/prometheusrule/{group}/{r['alert']}"
        ann = r.get("annotations") or {}
        ck.check(where, bool(r.get("for")) and (r.get("labels") or {}).get("severity") in SEVERITIES
                 and bool(str(ann.get("summary", "")).strip()) and bool(str(ann.get("description", "")).strip()),
                 f"has `for` ({r.get('for')}), severity in {SEVERITIES} and summary/description annotations")
        expr = str(r["expr"])
        selectors = list(own_selectors(expr))
        unknown = sorted({m for m, _ in selectors if m != "up" and m not in METRICS})
        ck.check(where, not unknown, f"names only metrics the servers export (unknown: {unknown})")
        unscoped = sorted({m for m, matchers in selectors if not job_matcher_ok(matchers, jobs)})
        ck.check(where, not unscoped, f"every server metric is selected by job {sorted(jobs)} (not: {unscoped})")
        kube = re.findall(r"\b((?:kube|container)_[a-z_]+)\s*\{([^}]*)\}", expr)
        ck.check(where, all("autointel" in matchers for _, matchers in kube)
                 and len(kube) == len(re.findall(r"\b(?:kube|container)_[a-z_]+\b", expr)),
                 "every Kubernetes metric is restricted to the autointel pods, Deployments or HPAs")
    for what, pred in REQUIRED_ALERTS:
        ck.check(env, any(pred(r) for _, r in alerts), f"alert for {what}")
    added = {(d["kind"], d["metadata"]["name"]) for d in docs} - {(d["kind"], d["metadata"]["name"]) for d in production}
    same = [d for d in docs if (d["kind"], d["metadata"]["name"]) not in added]
    ck.check(env, added == {("PodMonitor", "autointel"), ("PrometheusRule", "autointel")},
             f"adds exactly a PodMonitor and a PrometheusRule to production (added: {sorted(added)})")
    ck.check(env, sorted(same, key=str) == sorted(production, key=str), "leaves every production object as it is")


def check_health_port_private(ck: Checker, env: str, docs: list[dict]) -> None:
    """A plaintext health-only port is for the kubelet: no Service exposes it and no NetworkPolicy
    admits it. The kubelet needs no rule: NetworkPolicy does not filter traffic from the pod's own
    node on most CNIs (Kubernetes documents node traffic as always allowed)."""
    configmaps = of_kind(docs, "ConfigMap")
    for name, dep in of_kind(docs, "Deployment").items():
        pod = dep["spec"]["template"]["spec"]
        labels = dep["spec"]["template"]["metadata"]["labels"]
        health: set = set()
        for c in pod["containers"]:
            health |= {p["containerPort"] for p in c.get("ports", []) if p.get("name") == "health"}
            port = port_of(setting(c, container_config(c, pod, configmaps, SERVICES[name][2]),
                                   "server.health_address"))
            if port is not None:
                health.add(port)
        if not health:
            continue
        health_refs = health | {"health"}
        where = f"{env}/deployment/{name}"
        for svc_name, svc in of_kind(docs, "Service").items():
            selector = svc["spec"].get("selector") or {}
            if not selector or not selects({"matchLabels": selector}, labels):
                continue
            exposed = [p for p in svc["spec"].get("ports", [])
                       if p.get("targetPort", p["port"]) in health_refs or p["port"] in health]
            ck.check(where, not exposed, f"health port {sorted(health)} not exposed by Service {svc_name}")
        rules, _ = ingress_rules_for(docs, labels)
        ck.check(where, not any(rule_ports(r) & (health_refs | {None}) for r in rules),
                 f"no NetworkPolicy rule admits the health port {sorted(health)} (kubelet probes need none)")


def check_transport(ck: Checker, env: str, docs: list[dict]) -> None:
    """Both ends of stats -> registry agree on TLS, and every file a server reads lies in a mounted volume."""
    configmaps, deployments = of_kind(docs, "ConfigMap"), of_kind(docs, "Deployment")
    seen = {}
    for name, dep in deployments.items():
        pod = dep["spec"]["template"]["spec"]
        for c in pod["containers"]:
            cw = f"{env}/deployment/{name}/{c['name']}"
            cfg = container_config(c, pod, configmaps, SERVICES[name][2])
            seen[name] = (c, cfg)
            mounts = [m["mountPath"].rstrip("/") + "/" for m in c.get("volumeMounts", [])]
            for key in FILE_SETTINGS:
                path = setting(c, cfg, key)
                if path:
                    ck.check(cw, any(str(path).startswith(m) for m in mounts),
                             f"{key} {path} lies in a mounted volume (a missing file stops start-up)")
    if set(seen) != set(SERVICES):
        return
    (rc, rcfg), (sc, scfg) = seen["autointel-registry"], seen["autointel-stats"]
    registry_tls = bool(setting(rc, rcfg, "tls.cert_file"))
    endpoint = str(setting(sc, scfg, "registry.endpoint") or "")
    ck.check(env, endpoint.startswith("https://") == registry_tls,
             f"stats calls registry over TLS exactly when registry's gRPC port speaks TLS ({endpoint})")
    if registry_tls:
        ck.check(env, bool(setting(sc, scfg, "registry.tls.ca_file")),
                 "stats verifies registry's certificate against registry.tls.ca_file")
    if setting(rc, rcfg, "tls.client_ca_file"):
        ck.check(env, all(setting(sc, scfg, k) for k in ("registry.tls.cert_file", "registry.tls.key_file")),
                 "registry requires a client certificate (mutual TLS) and stats presents one")


def check_tls(ck: Checker, env: str, docs: list[dict]) -> None:
    """components/tls: each service mounts its required TLS Secret; the server certificate, key and
    client CA, and stats' client certificate towards registry, are files of that Secret; the probes
    go to the declared plaintext health port."""
    configmaps = of_kind(docs, "ConfigMap")
    for name, dep in of_kind(docs, "Deployment").items():
        where = f"{env}/deployment/{name}"
        pod = dep["spec"]["template"]["spec"]
        secret = TLS_SECRETS[name]
        vol = next((v for v in pod.get("volumes", []) if v.get("secret", {}).get("secretName") == secret), None)
        ck.check(where, vol is not None and vol["secret"].get("optional") is False,
                 f"Secret {secret} is a required volume (optional: false)")
        items = (vol or {}).get("secret", {}).get("items")
        ck.check(where, vol is not None and (items is None or {i["key"] for i in items} >= set(TLS_KEYS)),
                 f"Secret {secret} volume provides {', '.join(TLS_KEYS)}")
        for c in pod["containers"]:
            cw = f"{where}/{c['name']}"
            cfg = container_config(c, pod, configmaps, SERVICES[name][2])
            mount = next((m for m in c.get("volumeMounts", []) if vol is not None and m["name"] == vol["name"]), None)
            ck.check(cw, mount is not None and mount.get("readOnly") is True and not mount.get("subPath"),
                     f"Secret {secret} mounted read-only as a directory")
            d = mount["mountPath"].rstrip("/") if mount else "<not mounted>"
            want = {"tls.cert_file": "tls.crt", "tls.key_file": "tls.key", "tls.client_ca_file": "ca.crt"}
            if name == "autointel-stats":
                want |= {"registry.tls.ca_file": "ca.crt", "registry.tls.cert_file": "tls.crt",
                         "registry.tls.key_file": "tls.key"}
            for key, file in want.items():
                got = setting(c, cfg, key)
                ck.check(cw, got == f"{d}/{file}", f"{key} is {d}/{file} of Secret {secret} (got {got!r})")
            health = [p for p in c.get("ports", []) if p.get("name") == "health"]
            ck.check(cw, len(health) == 1 and health[0]["containerPort"] == HEALTH_PORT
                     and health[0].get("protocol", "TCP") == "TCP", f"containerPort health {HEALTH_PORT}/TCP declared")
            ck.check(cw, setting(c, cfg, "server.health_address") == f"0.0.0.0:{HEALTH_PORT}",
                     f"server.health_address 0.0.0.0:{HEALTH_PORT}")
            ck.check(cw, all(((c.get(p) or {}).get("grpc") or {}).get("port") == HEALTH_PORT for p in PROBES),
                     f"every probe targets the health port {HEALTH_PORT} (kubelet gRPC probes are plaintext, "
                     "without a client certificate)")
            if name == "autointel-stats":
                ck.check(cw, setting(c, cfg, "registry.endpoint") == REGISTRY_TLS_ENDPOINT,
                         f"registry.endpoint {REGISTRY_TLS_ENDPOINT}")
                ck.check(cw, setting(c, cfg, "registry.tls.domain_name") == REGISTRY_TLS_NAME,
                         f"registry.tls.domain_name {REGISTRY_TLS_NAME} (the name registry's certificate carries)")


def hpa_targets(docs: list[dict]) -> dict[str, dict]:
    """Deployment name -> the HorizontalPodAutoscaler that scales it."""
    return {h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(docs, "HorizontalPodAutoscaler").values()
            if h["spec"]["scaleTargetRef"].get("kind") == "Deployment"}


def check_hpa_owns_replicas(ck: Checker, env: str, docs: list[dict]) -> None:
    """An HPA-scaled Deployment must not set spec.replicas: every `kubectl apply` would reset the
    HPA's count to it. The minimum lives in the HPA (minReplicas) only."""
    deployments = of_kind(docs, "Deployment")
    for name, hpa in hpa_targets(docs).items():
        where = f"{env}/horizontalpodautoscaler/{hpa['metadata']['name']}"
        dep = deployments.get(name)
        ck.check(where, dep is not None, f"scales Deployment {name}, which is rendered")
        if dep is not None:
            got = f" (sets replicas: {dep['spec']['replicas']})" if "replicas" in dep["spec"] else ""
            ck.check(f"{env}/deployment/{name}", not got, f"no spec.replicas, the HPA owns the count{got}")


def pod_connections(name: str, max_connections: int) -> tuple[int, str]:
    """PostgreSQL connections one pod opens at most, as the servers size their pools.

    registry: one pool of database.max_connections (crates/registry, Store::connect_with).
    stats: database.max_connections split into a general pool and a COPY pool
    (crates/stats/src/store.rs, pool_sizes): copy = clamp(n / 4, 1, 2), general = max(n - copy, 1).
    """
    n = max(max_connections, 1)
    if name == "autointel-stats":
        copy = min(max(n // 4, 1), 2)
        general = max(n - copy, 1)
        return general + copy, f"{general} general + {copy} COPY"
    return n, "one pool"


def max_surge(dep: dict, replicas: int) -> int:
    strategy = dep["spec"].get("strategy", {})
    if strategy.get("type", "RollingUpdate") == "Recreate":
        return 0
    surge = strategy.get("rollingUpdate", {}).get("maxSurge", "25%")
    if isinstance(surge, str) and surge.endswith("%"):
        return math.ceil(int(surge[:-1]) * replicas / 100)  # Kubernetes rounds a surge percentage up
    return int(surge)


def check_connection_budget(ck: Checker, env: str, docs: list[dict]) -> None:
    """Sum over Deployments on PostgreSQL of (HPA maxReplicas + maxSurge) x connections per pod
    must be <= PG_BUDGET. database.max_connections comes from the mounted config file (the
    rendered ConfigMap) unless the container sets AUTOINTEL_DATABASE__MAX_CONNECTIONS."""
    configmaps, hpas = of_kind(docs, "ConfigMap"), hpa_targets(docs)
    total, terms = 0, []
    for name, dep in sorted(of_kind(docs, "Deployment").items()):
        pod = dep["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        config_file = SERVICES[name][2]
        for c in pod["containers"]:
            where = f"{env}/deployment/{name}/{c['name']}"
            env_vars = {e["name"]: e for e in c.get("env", [])}
            cfg_mount = next((m for m in c.get("volumeMounts", []) if m["mountPath"] == "/etc/autointel"), None)
            cm = configmaps.get(volumes.get(cfg_mount["name"], {}).get("configMap", {}).get("name", "")
                                if cfg_mount else "", {})
            database = tomllib.loads(cm.get("data", {}).get(config_file, "")).get("database", {})
            url_var = env_vars.get("AUTOINTEL_DATABASE__URL", {})
            on_postgres = (url_var.get("valueFrom", {}).get("secretKeyRef", {}).get("name") == "autointel-postgres"
                           or str(url_var.get("value", database.get("url", ""))).startswith("postgres"))
            if not on_postgres:
                continue
            override = env_vars.get("AUTOINTEL_DATABASE__MAX_CONNECTIONS")
            ck.check(where, override is None or "value" in override,
                     "AUTOINTEL_DATABASE__MAX_CONNECTIONS, if set, is a literal (the budget must be computable)")
            per_setting = int(override["value"]) if override and "value" in override else \
                int(database.get("max_connections", DEFAULT_MAX_CONNECTIONS))
            per_pod, split = pod_connections(name, per_setting)
            hpa = hpas.get(name)
            replicas = hpa["spec"]["maxReplicas"] if hpa else dep["spec"].get("replicas", 1)
            surge = max_surge(dep, replicas)
            subtotal = (replicas + surge) * per_pod
            total += subtotal
            terms.append(f"{name}: ({'HPA maxReplicas' if hpa else 'replicas'} {replicas} + maxSurge {surge}) "
                         f"x {per_pod} (max_connections {per_setting}: {split}) = {subtotal}")
    if not terms:
        print(f"  --    {env}: no Deployment on PostgreSQL, no connection budget to check")
        return
    for t in terms:
        print(f"        {env} PostgreSQL connections, {t}")
    ck.check(env, total <= PG_BUDGET,
             f"PostgreSQL connections at HPA maximum + maxSurge: {total} <= budget {PG_BUDGET} "
             f"(max_connections {PG_MAX_CONNECTIONS} - superuser_reserved_connections {PG_SUPERUSER_RESERVED}"
             f" - headroom {PG_HEADROOM})")


def check_production(ck: Checker, env: str, docs: list[dict]) -> None:
    hpas = hpa_targets(docs)
    pdbs = list(of_kind(docs, "PodDisruptionBudget").values())
    for name, dep in of_kind(docs, "Deployment").items():
        where = f"{env}/deployment/{name}"
        spec, pod = dep["spec"], dep["spec"]["template"]["spec"]
        labels = spec["template"]["metadata"]["labels"]
        hpa = hpas.get(name)
        ck.check(where, hpa is not None and hpa["apiVersion"] == "autoscaling/v2"
                 and hpa["spec"].get("minReplicas", 1) >= 2 and hpa["spec"]["maxReplicas"] >= 10,
                 "HPA autoscaling/v2 with minReplicas >= 2 and maxReplicas >= 10")
        ck.check(where, hpa is not None and any(m.get("resource", {}).get("name") == "cpu"
                                                for m in hpa["spec"].get("metrics", [])), "HPA scales on CPU")
        ck.check(where, any(selects(p["spec"]["selector"], labels) for p in pdbs), "covered by a PodDisruptionBudget")
        strategy = spec.get("strategy", {})
        ck.check(where, strategy.get("type") == "RollingUpdate"
                 and strategy.get("rollingUpdate", {}).get("maxUnavailable") == 0, "RollingUpdate, maxUnavailable 0")
        ck.check(where, len(pod.get("topologySpreadConstraints", [])) >= 1, "topologySpreadConstraints set")
        for c in pod["containers"]:
            env_vars = {e["name"]: e for e in c.get("env", [])}
            ref = env_vars.get("AUTOINTEL_DATABASE__URL", {}).get("valueFrom", {}).get("secretKeyRef", {})
            ck.check(where, ref.get("name") == "autointel-postgres" and ref.get("key") == DB_KEYS[name]
                     and not ref.get("optional", False),
                     f"AUTOINTEL_DATABASE__URL from Secret autointel-postgres key {DB_KEYS[name]}")
            ck.check(where, "value" not in env_vars.get("AUTOINTEL_DATABASE__URL", {}), "no literal database URL")
        for v in pod.get("volumes", []):
            if "secret" in v:
                ck.check(where, v["secret"].get("optional") is False,
                         f"Secret {v['secret']['secretName']} is required (optional: false)")
        for c in pod["containers"]:
            names = {e["name"] for e in c.get("env", [])}
            ck.check(where, not names & {"AUTOINTEL_AUTH__DISABLED", "AUTOINTEL_AUTH__TOKENS_FILE",
                                         "AUTOINTEL_AUTH__TOKENS"},
                     "auth comes from the config file's tokens_file only (no env override can disable it)")
    # Authentication fails closed: every service's config names a tokens file and never
    # disables auth, so a pod without its tokens Secret cannot start.
    for name, cm in of_kind(docs, "ConfigMap").items():
        for key, text in cm.get("data", {}).items():
            if not key.endswith(".toml"):
                continue
            auth = tomllib.loads(text).get("auth", {})
            ck.check(f"{env}/configmap/{name}", bool(auth.get("tokens_file"))
                     and not auth.get("disabled", False),
                     f"{key}: auth.tokens_file set and auth.disabled not set")


def check_local(ck: Checker, docs: list[dict]) -> None:
    claims = of_kind(docs, "PersistentVolumeClaim")
    ck.check("local", not of_kind(docs, "HorizontalPodAutoscaler"), "no HorizontalPodAutoscaler (SQLite: one writer)")
    pdbs = list(of_kind(docs, "PodDisruptionBudget").values())
    for name, dep in of_kind(docs, "Deployment").items():
        where = f"local/deployment/{name}"
        spec, pod = dep["spec"], dep["spec"]["template"]["spec"]
        labels = spec["template"]["metadata"]["labels"]
        ck.check(where, spec.get("replicas") == 1, "replicas 1")
        ck.check(where, spec.get("strategy", {}).get("type") == "Recreate", "strategy Recreate")
        ck.check(where, all(p["spec"].get("minAvailable") in (None, 0) for p in pdbs if selects(p["spec"]["selector"],
                                                                                          labels)),
                 "PDB does not block draining the single replica (no minAvailable)")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for c in pod["containers"]:
            mount = next((m for m in c.get("volumeMounts", []) if m["mountPath"] == "/var/lib/autointel"), None)
            vol = volumes.get(mount["name"], {}) if mount else {}
            claim = vol.get("persistentVolumeClaim", {}).get("claimName")
            ck.check(where, claim in claims and "emptyDir" not in vol,
                     f"/var/lib/autointel on PersistentVolumeClaim {claim}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rendered", type=Path, help="directory with <kustomization>.yaml files")
    args = parser.parse_args()
    ck = Checker()
    rendered = {env: load(args.rendered, env) for env in KUSTOMIZATIONS}
    for env, docs in rendered.items():
        print(f"\n{env}: {len(docs)} objects ({', '.join(sorted({d['kind'] for d in docs}))})")
        check_workloads(ck, env, docs)
        check_services(ck, env, docs)
        check_network_policies(ck, env, docs)
        check_egress(ck, env, docs)
        check_health_port_private(ck, env, docs)
        check_transport(ck, env, docs)
        check_hpa_owns_replicas(ck, env, docs)
        check_connection_budget(ck, env, docs)
        if env in PRODUCTION:
            check_production(ck, env, docs)
        if env in TLS_KUSTOMIZATIONS:
            check_tls(ck, env, docs)
            objects = {(d["kind"], d["metadata"]["name"]) for d in docs}
            ck.check(env, objects == {(d["kind"], d["metadata"]["name"]) for d in rendered["production"]},
                     "renders the same objects as production (the component only patches)")
        if env in MONITORING_KUSTOMIZATIONS:
            check_monitoring(ck, env, docs, rendered["production"])
        else:
            ck.check(env, not of_kind(docs, "PodMonitor") and not of_kind(docs, "PrometheusRule"),
                     "no monitoring objects (they need the prometheus-operator's CRDs: components/monitoring)")
        if env == "local":
            check_local(ck, docs)
    print(f"\npolicies: {ck.passed} passed, {ck.failed} failed")
    return 1 if ck.failed or not ck.passed else 0


if __name__ == "__main__":
    sys.exit(main())
