#!/usr/bin/python3
"""Kubernetes manifests (deploy/k8s) and the Grafana dashboard (deploy/grafana) checked
without a cluster: every YAML document parses, the objects refer to each other correctly,
and what they say about the server is true of the real binary. A node is started with the
ConfigMap's config file (only the address and key set replaced): the probe paths answer 200,
its logs are JSON as configured, and the metric names that the HPA, the prometheus-adapter
rule and every dashboard panel use are in its /metrics.

Usage: manifests_test.py PATH/TO/wsagent
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploy_support import (REPO, checks, config_file_values, duration_ms, http_get,  # noqa: E402
                            keygen, metric_names, server)

K8S = os.path.join(REPO, "deploy", "k8s")
DASHBOARD = os.path.join(REPO, "deploy", "grafana", "wsagent.json")


def load_documents(c):
    """{(kind, name): object} of every document in deploy/k8s/*.yaml and optional/*.yaml."""
    objects = {}
    files = sorted(glob.glob(os.path.join(K8S, "*.yaml")) +
                   glob.glob(os.path.join(K8S, "optional", "*.yaml")))
    c.check(len(files) >= 7, f"expected the manifest files in {K8S}, found {files}")
    for path in files:
        with open(path, encoding="utf-8") as f:
            documents = [d for d in yaml.safe_load_all(f) if d is not None]
        for doc in documents:
            if os.path.basename(path) in ("kustomization.yaml", "prometheus-adapter-values.yaml"):
                objects[("file", os.path.basename(path))] = doc
                continue
            ok = all(k in doc for k in ("apiVersion", "kind", "metadata"))
            if c.check(ok and "name" in doc["metadata"],
                       f"{path}: a document without apiVersion, kind or metadata.name"):
                objects[(doc["kind"], doc["metadata"]["name"])] = doc
    return objects


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_kustomization(c, objects):
    kustomization = objects.get(("file", "kustomization.yaml"), {})
    for resource in kustomization.get("resources", []):
        c.check(os.path.exists(os.path.join(K8S, resource)),
                f"kustomization.yaml lists {resource}, which does not exist")
    kinds = set()
    for resource in kustomization.get("resources", []):
        with open(os.path.join(K8S, resource), encoding="utf-8") as f:
            kinds |= {d["kind"] for d in yaml.safe_load_all(f) if d}
    for kind in ("Deployment", "Service", "ConfigMap", "Secret", "PodDisruptionBudget",
                 "HorizontalPodAutoscaler"):
        c.check(kind in kinds, f"kustomization.yaml applies no {kind}")


def check_objects(c, objects, dockerfile_uid):
    """Static invariants; returns what the live checks need."""
    deployment = objects[("Deployment", "wsagent")]
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    spec = pod["spec"]
    container = next(x for x in spec["containers"] if x["name"] == "wsagent")
    configmap = objects[("ConfigMap", "wsagent-config")]

    # The config file the container is given: --config PATH, PATH inside the ConfigMap mount.
    args = container["args"]
    c.check(args[0] == "serve" and "--config" in args, f"container args {args}")
    config_path = args[args.index("--config") + 1]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    config_volume = volumes.get(mounts.get(os.path.dirname(config_path)), {})
    c.check(config_volume.get("configMap", {}).get("name") == "wsagent-config",
            f"{config_path} is not in a mount of the ConfigMap wsagent-config")
    config_text = configmap["data"].get(os.path.basename(config_path), "")
    c.check(config_text, f"ConfigMap wsagent-config has no key {os.path.basename(config_path)}")
    config = config_file_values(config_text)

    # The key set: the config's jwks path inside the mount of the Secret that holds it.
    jwks_path = config.get("jwks", "")
    jwks_volume = volumes.get(mounts.get(os.path.dirname(jwks_path)), {})
    secret_name = jwks_volume.get("secret", {}).get("secretName")
    secret = objects.get(("Secret", secret_name or ""), {})
    c.check(os.path.basename(jwks_path) in secret.get("stringData", secret.get("data", {})),
            f"jwks = {jwks_path} is not a key of a Secret mounted there")
    for env in container.get("env", []):
        ref = env.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            data = objects.get(("Secret", ref["name"]), {}).get("stringData", {})
            c.check(ref["key"] in data, f"env {env['name']} reads a missing secret key {ref}")

    # Ports: the container's "http" port is the one the config listens on; probes, the
    # Service, the scrape annotation and the optional objects use it.
    listen_port = int(config["listen"].rsplit(":", 1)[1])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    c.check(ports.get("http") == listen_port,
            f"containerPort http {ports.get('http')} != listen port {listen_port}")
    probes = {}
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = container.get(kind, {}).get("httpGet", {})
        c.check(probe.get("port") in ("http", listen_port), f"{kind} port {probe.get('port')}")
        probes[kind] = probe.get("path")
    c.check(probes["readinessProbe"] == "/readyz", f"readiness probe {probes['readinessProbe']}")
    c.check(probes["livenessProbe"] == "/healthz", f"liveness probe {probes['livenessProbe']}")
    annotations = pod["metadata"].get("annotations", {})
    c.check(annotations.get("prometheus.io/port") == str(listen_port),
            f"prometheus.io/port {annotations.get('prometheus.io/port')}")
    c.check(annotations.get("prometheus.io/path") == "/metrics", "prometheus.io/path")

    service = objects[("Service", "wsagent")]
    c.check(selects(service["spec"]["selector"], labels), "the Service selects no wsagent pod")
    c.check(all(p["targetPort"] in ("http", listen_port) for p in service["spec"]["ports"]),
            "a Service port does not target the http port")
    c.check(service["spec"].get("type", "ClusterIP") == "ClusterIP",
            "the Service (which also reaches /metrics) must not be public")
    c.check(selects(deployment["spec"]["selector"]["matchLabels"], labels),
            "the Deployment's selector does not match its pods")
    pdb = objects[("PodDisruptionBudget", "wsagent")]
    c.check(selects(pdb["spec"]["selector"]["matchLabels"], labels), "the PDB selects no pod")
    hpa = objects[("HorizontalPodAutoscaler", "wsagent")]
    target = hpa["spec"]["scaleTargetRef"]
    c.check(target["kind"] == "Deployment" and target["name"] == "wsagent",
            f"the HPA scales {target}")
    c.check("replicas" not in deployment["spec"], "Deployment.replicas fights the HPA")
    c.check(hpa["spec"]["minReplicas"] >= 2 and pdb["spec"].get("maxUnavailable") == 1,
            "the PDB and the HPA's minimum must leave a node serving during a disruption")

    ingress = objects.get(("Ingress", "wsagent"))
    if ingress:
        paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
        c.check({p["path"] for p in paths} <= {"/ws", "/api/publish"} and
                all(p["pathType"] == "Exact" for p in paths),
                "the Ingress must route only /ws and /api/publish (never /metrics)")
        c.check(all(p["backend"]["service"]["name"] == "wsagent" and
                    p["backend"]["service"]["port"].get("name") == "http" for p in paths),
                "the Ingress backend is not the wsagent Service's http port")
    monitor = objects.get(("PodMonitor", "wsagent"))
    if monitor:
        endpoint = monitor["spec"]["podMetricsEndpoints"][0]
        c.check(endpoint["port"] == "http" and endpoint["path"] == "/metrics",
                f"PodMonitor endpoint {endpoint}")
        c.check(selects(monitor["spec"]["selector"]["matchLabels"], labels),
                "the PodMonitor selects no pod")

    # Stopping: the grace period covers preStop (if any), the drain delay and the whole drain.
    pre_stop_ms = 0
    if "lifecycle" in container:
        pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
        c.check(pre_stop[0] == "sleep", f"preStop {pre_stop}")
        pre_stop_ms = int(pre_stop[1]) * 1000
    delay_ms = duration_ms(config.get("drain-delay", "0"), 1)
    c.check(pre_stop_ms + delay_ms >= 3000,
            f"preStop {pre_stop_ms} ms + drain-delay {delay_ms} ms: new clients still routed "
            "to the pod while Kubernetes removes its endpoint would be refused")
    drain_ms = duration_ms(config.get("drain-timeout", "5s"), 1)
    grace_ms = spec["terminationGracePeriodSeconds"] * 1000
    c.check(grace_ms > pre_stop_ms + delay_ms + drain_ms,
            f"terminationGracePeriodSeconds {grace_ms} ms <= preStop {pre_stop_ms} ms + "
            f"drain-delay {delay_ms} ms + drain-timeout {drain_ms} ms: pods would be killed "
            "mid-drain")

    # Security: non-root with the image's uid, nothing to escalate, the io_uring profile.
    pod_security = spec["securityContext"]
    security = container["securityContext"]
    c.check(pod_security.get("runAsNonRoot") is True, "runAsNonRoot")
    c.check(pod_security.get("runAsUser") == dockerfile_uid,
            f"runAsUser {pod_security.get('runAsUser')} != the Dockerfile's uid {dockerfile_uid}")
    c.check(security.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation")
    c.check(security.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem")
    c.check(security.get("capabilities", {}).get("drop") == ["ALL"], "capabilities.drop ALL")
    for where, ctx in (("pod", pod_security), ("container", security)):
        profile = ctx.get("seccompProfile", {})
        c.check(profile.get("type") == "Localhost" and
                profile.get("localhostProfile") == "profiles/wsagent.json",
                f"{where} seccompProfile {profile} (io_uring needs docker/seccomp.json)")
    c.check(not spec.get("automountServiceAccountToken", True), "the pod mounts an API token")

    # One shard per requested CPU.
    c.check(str(container["resources"]["requests"]["cpu"]) == config.get("shards"),
            "requests.cpu != shards")
    c.check("memory" in container["resources"].get("limits", {}), "no memory limit")

    hpa_metrics = [m["pods"]["metric"]["name"] for m in hpa["spec"]["metrics"]
                   if m["type"] == "Pods"]
    adapter = objects[("file", "prometheus-adapter-values.yaml")]
    adapter_metrics = []
    for rule in adapter["rules"]["custom"]:
        adapter_metrics.append(rule["name"]["as"])
        c.check(re.match(r"wsagent_[a-z_]+", rule["seriesQuery"]) is not None,
                f"adapter rule {rule['seriesQuery']}")
        adapter_metrics.append(re.match(r"wsagent_[a-z_]+", rule["seriesQuery"]).group(0))
    c.check(set(hpa_metrics) <= set(adapter_metrics),
            f"HPA metrics {hpa_metrics} are not served by the adapter rules {adapter_metrics}")
    return {"config_text": config_text, "config_path": config_path, "probes": probes,
            "metrics": set(hpa_metrics) | set(adapter_metrics),
            "env": [e["name"] for e in container.get("env", [])]}


def dashboard_metrics(c):
    """Metric names used by the dashboard's panels (each panel must query something)."""
    with open(DASHBOARD, encoding="utf-8") as f:
        dashboard = json.load(f)
    used = set()
    panels = list(dashboard["panels"])
    while panels:
        panel = panels.pop()
        panels.extend(panel.get("panels", []))
        if panel["type"] == "row":
            continue
        targets = panel.get("targets", [])
        c.check(targets, f"panel {panel['title']!r} has no query")
        for target in targets:
            expr = target["expr"]
            names = set(re.findall(r"\bwsagent_[a-z0-9_]+", expr))
            c.check(names, f"panel {panel['title']!r}: {expr} uses no wsagent metric")
            c.check(expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}"),
                    f"panel {panel['title']!r}: unbalanced {expr}")
            used |= names
        c.check(panel.get("datasource", {}).get("uid") == "${datasource}",
                f"panel {panel['title']!r} does not use the datasource variable")
    for variable in dashboard["templating"]["list"]:
        used |= set(re.findall(r"\bwsagent_[a-z0-9_]+", json.dumps(variable.get("query", ""))))
    return used


def check_live(c, binary, static, dashboard_used):
    help_text = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True,
                               check=True).stdout
    for name in static["env"]:
        c.check(f"[env: {name}]" in help_text or f"env: {name}]" in help_text,
                f"the Deployment sets {name}, which wsagent serve does not read")

    with tempfile.TemporaryDirectory() as tmp:
        _, jwks = keygen(binary, tmp)
        conf = os.path.join(tmp, "wsagent.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(static["config_text"])
        # As in the pod (minus the address and the key set's path): the ConfigMap's file, the
        # node id from a pod name, the embedded broker instead of the Secret's Redis URL.
        args = ["--config", conf, "--listen", "127.0.0.1:0", "--jwks", jwks]
        with server(binary, args, env={"WSAGENT_NODE_ID": "wsagent-5d8f7c9b4-x2x7p"}) as node:
            port = node.port
            for kind, path in static["probes"].items():
                status, _ = http_get(port, path)
                c.check(status == 200, f"{kind} {path} answered {status}, not 200")
            status, text = http_get(port, "/metrics")
            c.check(status == 200, f"/metrics answered {status}")
            exported = metric_names(text)
            c.check(len(exported) >= 10, f"/metrics exported only {sorted(exported)}")
            for name in sorted(static["metrics"]):
                c.check(name in exported, f"the HPA/adapter metric {name} is not exported")
            for name in sorted(dashboard_used):
                c.check(name in exported, f"the dashboard uses {name}, which is not exported")
            unused = sorted(n for n in exported if n not in dashboard_used)
            if unused:
                print(f"manifests_test: note: not on the dashboard: {', '.join(unused)}")
        c.check(node.proc.returncode == 0, f"wsagent exited {node.proc.returncode} after SIGTERM")
        lines = node.log.splitlines()
        c.check(lines, "the node logged nothing")
        for line in lines:
            try:
                record = json.loads(line)
                c.check(list(record)[:2] == ["ts", "level"] and "msg" in record,
                        f"log record without ts, level, msg: {line}")
            except json.JSONDecodeError:
                c.check(False, f"log-format = json, but this line is not JSON: {line}")
            c.check("unknown" not in line, f"the config file has a problem: {line}")


def dockerfile_uid(c):
    with open(os.path.join(REPO, "docker", "Dockerfile"), encoding="utf-8") as f:
        users = re.findall(r"^USER\s+(\d+)(?::\d+)?\s*$", f.read(), re.M)
    c.check(len(users) == 1, f"the Dockerfile needs one numeric USER, found {users}")
    return int(users[0]) if users else -1


def main():
    binary = os.path.realpath(sys.argv[1])
    c = checks("manifests_test")
    objects = load_documents(c)
    check_kustomization(c, objects)
    static = check_objects(c, objects, dockerfile_uid(c))
    used = dashboard_metrics(c)
    check_live(c, binary, static, used)
    c.report()


if __name__ == "__main__":
    main()
