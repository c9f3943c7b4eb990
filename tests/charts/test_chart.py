"""The Helm chart, checked the way CI can without a cluster: `helm lint --strict`, every
rendered object against Kubernetes' JSON schemas (kubernetes-validate), the custom
resources (KEDA, prometheus-operator) by their required fields, and the practices the
chart promises (probes, resources, security, secrets, scaling, monitoring) on the
rendered YAML of every environment."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from kubernetes_validate.utils import all_versions

from tests.charts.conftest import (
    CHART,
    ENVIRONMENTS,
    FULLNAME,
    NAMESPACE,
    RELEASE,
    HelmError,
    Manifests,
)

QUEUES = ("discovery", "asked", "validate", "process", "index", "notify",  # app/queue.py
          "members", "crawl")
# Checked against the oldest Kubernetes the chart aims at and the newest the package has.
KUBE_VERSIONS = ("1.30.0", "1.37.0")
CUSTOM_RESOURCES = {
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}
LABELS = ("name", "instance", "version", "component", "part-of", "managed-by")
# The metrics the application exposes (its contract with the alerts and the dashboard).
METRICS = {
    "depot_http_requests_total", "depot_http_request_duration_seconds",
    "depot_goproxy_requests_total", "depot_goproxy_bytes_total",
    "depot_queue_depth", "depot_queue_running", "depot_queue_failed", "depot_queue_up",
    "depot_jobs_total", "depot_job_duration_seconds",
    "depot_store_bytes", "depot_store_objects", "depot_dependency_up",
}
SECRET_NAMES = {"DATABASE_URL", "REDIS_URL", "DEPOT_SECRET_KEY", "AWS_SECRET_ACCESS_KEY",
                "AWS_ACCESS_KEY_ID", "DEPOT_NOTIFY_WEBHOOKS", "REDIS_PASSWORD",
                "DEPOT_OIDC_CLIENT_SECRET"}
ENVIRONMENT_SECRETS = {"dev": "depot-dev", "staging": "depot-staging", "prod": "depot-prod"}
SECRETISH = re.compile(r"PASSWORD|SECRET|TOKEN|CREDENTIAL|PRIVATE_KEY")


def pod_specs(manifests: Manifests) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for obj in manifests.workloads():
        yield obj, obj["spec"]["template"]["spec"]


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def by_name(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = [i for i in items if i["name"] == name]
    assert len(found) == 1, f"{name} not found once in {[i['name'] for i in items]}"
    return found[0]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def web(m: Manifests) -> dict[str, Any]:
    return m.get("Deployment", f"{FULLNAME}-web")


def config(m: Manifests) -> dict[str, str]:
    return m.get("ConfigMap", f"{FULLNAME}-config")["data"]


# --- helm itself ---------------------------------------------------------------------


@pytest.mark.parametrize("env", list(ENVIRONMENTS))
def test_helm_lint_strict(helm: Callable[..., str], env: str) -> None:
    args = ["lint", "--strict", str(CHART)]
    for path in ENVIRONMENTS[env]:
        args += ["-f", str(path)]
    out = helm(*args)
    assert "0 chart(s) failed" in out


def test_every_environment_renders(rendered: dict[str, Manifests]) -> None:
    for env, m in rendered.items():
        kinds = {d["kind"] for d in m.docs}
        assert {"Deployment", "Service", "ConfigMap", "ServiceAccount"} <= kinds, env


# --- schemas -------------------------------------------------------------------------


def test_kubernetes_validate_has_the_schemas() -> None:
    versions = all_versions()
    for wanted in KUBE_VERSIONS:
        assert any(v.startswith(wanted.rsplit(".", 1)[0] + ".") for v in versions), versions


@pytest.mark.parametrize("kube", KUBE_VERSIONS)
@pytest.mark.parametrize("env", list(ENVIRONMENTS))
def test_manifests_match_kubernetes_schemas(rendered: dict[str, Manifests], env: str,
                                            kube: str) -> None:
    """Strict: an unknown or misspelt field fails as much as a wrong type."""
    problems = []
    for obj in rendered[env].docs:
        if (obj["apiVersion"], obj["kind"]) in CUSTOM_RESOURCES:
            continue  # not in Kubernetes' schemas: test_custom_resources_required_fields
        try:
            kubernetes_validate.validate(obj, kube, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{obj['kind']} {obj['metadata']['name']}: {exc.message} "
                            f"at {'/'.join(map(str, exc.path))}")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"{obj['kind']} {obj['apiVersion']}: no schema in Kubernetes {kube}")
    assert not problems, "\n".join(problems)


def test_schema_check_rejects_a_broken_object(rendered: dict[str, Manifests]) -> None:
    """The validator really validates: a typo and a wrong type are both caught."""
    deployment = json.loads(json.dumps(web(rendered["default"])))
    deployment["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSIONS[0], strict=True)
    deployment = json.loads(json.dumps(web(rendered["default"])))
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "x"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSIONS[0], strict=True)


def test_custom_resources_required_fields(rendered: dict[str, Manifests]) -> None:
    """KEDA's and prometheus-operator's CRDs are not in Kubernetes' schemas: check what
    their CRDs require."""
    seen = set()
    for m in rendered.values():
        for obj in m.docs:
            key = (obj["apiVersion"], obj["kind"])
            if key not in CUSTOM_RESOURCES:
                continue
            seen.add(key)
            assert obj["metadata"]["name"] and obj["metadata"]["labels"]
            spec = obj["spec"]
            if obj["kind"] == "ScaledObject":
                assert spec["scaleTargetRef"]["name"]
                assert spec["triggers"]
                for trigger in spec["triggers"]:
                    assert trigger["type"] and isinstance(trigger["metadata"], dict)
                    assert all(isinstance(v, str) for v in trigger["metadata"].values())
                assert 0 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
            elif obj["kind"] == "TriggerAuthentication":
                for ref in spec["secretTargetRef"]:
                    assert ref["parameter"] and ref["name"] and ref["key"]
            elif obj["kind"] == "ServiceMonitor":
                assert spec["selector"]["matchLabels"]
                for endpoint in spec["endpoints"]:
                    assert endpoint["port"] and endpoint["path"].startswith("/")
            elif obj["kind"] == "PrometheusRule":
                for group in spec["groups"]:
                    assert group["name"] and group["rules"]
                    for rule in group["rules"]:
                        assert rule["expr"] and (rule.get("alert") or rule.get("record"))
    assert seen == CUSTOM_RESOURCES


# --- labels --------------------------------------------------------------------------


def test_every_object_has_the_standard_labels(rendered: dict[str, Manifests], env: str) -> None:
    for obj in rendered[env].docs:
        sets = [obj["metadata"].get("labels", {})]
        if obj["kind"] in ("Deployment", "Job"):
            sets.append(obj["spec"]["template"]["metadata"]["labels"])
        for labels in sets:
            for name in LABELS:
                assert labels.get(f"app.kubernetes.io/{name}"), (
                    f"{obj['kind']} {obj['metadata']['name']} lacks app.kubernetes.io/{name}")
            assert labels["app.kubernetes.io/instance"] == RELEASE
            assert labels["app.kubernetes.io/part-of"] == "depot"
            assert labels["app.kubernetes.io/managed-by"] == "Helm"


# --- web -----------------------------------------------------------------------------


def test_web_runs_gunicorn_with_its_settings(rendered: dict[str, Manifests], env: str) -> None:
    pod = web(rendered[env])["spec"]["template"]["spec"]
    app = by_name(pod["containers"], "web")
    assert app["command"] == ["gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"]
    env_vars = env_of(app)
    for name in ("DEPOT_WORKERS", "DEPOT_THREADS", "DEPOT_WORKER_TIMEOUT",
                 "DEPOT_GRACEFUL_TIMEOUT", "DEPOT_BIND"):
        assert env_vars[name]["value"], name
    assert env_vars["DEPOT_BIND"]["value"] == "0.0.0.0:8000"


def test_web_probes(rendered: dict[str, Manifests], env: str) -> None:
    app = by_name(web(rendered[env])["spec"]["template"]["spec"]["containers"], "web")
    assert app["readinessProbe"]["httpGet"]["path"] == "/ping"
    assert app["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert app["readinessProbe"]["httpGet"]["port"] == 8000


def test_nginx_sidecar_renders_the_shipped_template(rendered: dict[str, Manifests]) -> None:
    m = rendered["default"]
    pod = web(m)["spec"]["template"]["spec"]
    nginx = by_name(pod["containers"], "nginx")
    template = (CHART / "files" / "nginx-sidecar.conf.template").read_text()
    cm = m.get("ConfigMap", f"{FULLNAME}-nginx")
    assert cm["data"]["depot.conf.template"].strip() == template.strip()
    placeholders = set(re.findall(r"\$\{([A-Z_]+)\}", template))
    assert placeholders == {"LISTEN", "DEPOT_ADDR", "STORE_DIR", "CACHE_DIR", "LOG_DIR"}
    env_vars = env_of(nginx)
    assert placeholders <= set(env_vars)
    assert env_vars["DEPOT_ADDR"]["value"] == "127.0.0.1:8000"
    assert env_vars["STORE_DIR"]["value"] == "/data/store"
    mounts = {v["mountPath"]: v for v in nginx["volumeMounts"]}
    assert mounts["/etc/nginx/templates"]["name"] == "nginx-templates"
    assert mounts["/data"].get("readOnly") is True
    for writable in ("/tmp", "/var/cache/nginx", "/etc/nginx/conf.d", "/var/log/depot-nginx"):
        assert "emptyDir" in by_name(pod["volumes"], mounts[writable]["name"]), writable
    # Depot reads the log of zips nginx served itself from the shared folder.
    app = by_name(pod["containers"], "web")
    assert env_of(app)["DEPOT_NGINX_ZIP_LOG"]["value"] == "/var/log/depot-nginx/zips.log"
    assert config(m)["DEPOT_ACCEL_REDIRECT"] == "/_store/"
    # The Service sends traffic to nginx.
    service = m.get("Service", FULLNAME)
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert {p["name"]: p["containerPort"] for p in nginx["ports"]}["http"] == 8080


def test_s3_store_turns_the_accel_location_off(rendered: dict[str, Manifests]) -> None:
    data = config(rendered["all"])
    assert data["DEPOT_STORE"] == "s3://depot-store/modules"
    assert data["DEPOT_ACCEL_REDIRECT"] == ""
    assert data["DEPOT_S3_ENDPOINT"] == "http://objects.invalid:9000"
    assert data["DEPOT_S3_REGION"] == "us-east-1"
    assert data["DEPOT_S3_ZIPS"] == "stream"
    prod = config(rendered["prod"])
    assert prod["DEPOT_STORE"] == "s3://depot-prod-store/store"
    assert prod["DEPOT_S3_ZIPS"] == "redirect"
    assert prod["DEPOT_ACCEL_REDIRECT"] == ""
    assert "DEPOT_S3_ZIPS" not in config(rendered["default"])


def test_config_map_carries_the_settings(rendered: dict[str, Manifests]) -> None:
    data = config(rendered["default"])
    for name in ("DEPOT_ON_MISS", "DEPOT_UPSTREAM", "DEPOT_GOSUMDB", "DEPOT_ACCEL_REDIRECT",
                 "DEPOT_STORE", "ELASTICSEARCH_URL", "DEPOT_SEARCH_INDEX", "DEPOT_LOG_FORMAT",
                 "DEPOT_PROXY_FIX", "DEPOT_LICENSE_ALLOW", "DEPOT_DATA_DIR"):
        assert name in data, name
    assert data["DEPOT_LOG_FORMAT"] == "json"
    assert data["DEPOT_DATA_DIR"] == "/data"
    assert data["DEPOT_STORE"] == "file:///data/store"
    assert data["DEPOT_PROXY_FIX"] == "1"  # the sidecar
    assert config(rendered["staging"])["DEPOT_PROXY_FIX"] == "2"  # sidecar and ingress
    assert config(rendered["dev"])["DEPOT_LOG_FORMAT"] == "text"
    # Numbers Depot parses are never empty strings.
    for name in ("DEPOT_UPSTREAM_TIMEOUT", "DEPOT_FETCH_TIMEOUT", "DEPOT_SEARCH_TIMEOUT"):
        float(data[name])


# --- workers -------------------------------------------------------------------------


def test_one_worker_deployment_per_group(rendered: dict[str, Manifests], env: str) -> None:
    workers = rendered[env].workers()
    assert {w["metadata"]["name"] for w in workers} == {
        f"{FULLNAME}-worker-{g}" for g in ("ingest", "validate", "light")}
    taken: list[str] = []
    for worker in workers:
        (container,) = worker["spec"]["template"]["spec"]["containers"]
        command = container["command"]
        assert command[:4] == ["flask", "--app", "app", "worker"]
        assert command[4:], "a worker with no queue takes all of them"
        taken += command[4:]
    assert set(taken) == set(QUEUES)
    # Work someone waits for is taken first by both groups that run pipeline stages.
    assert sorted(q for q in taken if q == "asked") == ["asked", "asked"]
    groups = {w["metadata"]["name"].rsplit("-", 1)[1]: w for w in workers}
    command = groups["ingest"]["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[4:] == ["discovery", "asked", "process", "members", "crawl"]
    command = groups["validate"]["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[4:] == ["asked", "validate"]


def test_auth_settings_reach_depot_and_refuse_the_sidecar(
        render: Callable[..., Manifests]) -> None:
    closed = config(render("default", "config.anonymous=none", "nginx.enabled=false"))
    assert closed["DEPOT_ANONYMOUS"] == "none" and closed["DEPOT_AUTH_FAILURE_LIMIT"] == "20"
    assert closed["DEPOT_AUDIT_RETENTION_DAYS"] == "365"
    kept = config(render("default", "config.auditRetentionDays=0"))
    assert kept["DEPOT_AUDIT_RETENTION_DAYS"] == "0"
    assert (kept["DEPOT_OIDC_ISSUER"], kept["DEPOT_OIDC_DEFAULT_ROLE"]) == ("", "reader")
    oidc = config(render("default", "oidc.issuer=https://login.corp.example/realms/dev",
                         "oidc.roles=depot-admins=admin"))
    assert oidc["DEPOT_OIDC_ISSUER"] == "https://login.corp.example/realms/dev"
    assert oidc["DEPOT_OIDC_ROLES"] == "depot-admins=admin"
    with pytest.raises(HelmError, match="nginx.enabled=false"):
        render("default", "config.anonymous=public")


def test_private_modules_reach_every_pod_that_fetches_with_the_operator_s_secret(
        render: Callable[..., Manifests]) -> None:
    m = render("default", "privateModules.patterns=corp.example/*",
               "privateModules.credentialsSecret=corp-git", "privateModules.license=exempt",
               "privateModules.pathRules=corp.example/hr=hr", "nginx.enabled=false")
    with pytest.raises(HelmError, match="nginx.enabled=false"):
        render("default", "privateModules.patterns=corp.example/*")
    with pytest.raises(HelmError, match="nginx.enabled=false"):
        render("default", "privateModules.pathRules=corp.example/hr=hr")
    settings = config(m)
    assert settings["DEPOT_PRIVATE"] == "corp.example/*"
    assert settings["DEPOT_PATH_RULES"] == "corp.example/hr=hr"
    assert settings["DEPOT_PRIVATE_LICENSE"] == "exempt"
    assert settings["DEPOT_PRIVATE_NETRC"] == "/etc/depot/private/netrc"
    assert "DEPOT_PRIVATE_GITCONFIG" not in settings
    fetchers = 0
    for obj, pod in pod_specs(m):
        if obj["kind"] != "Deployment":
            continue
        volume = by_name(pod["volumes"], "private-credentials")
        assert volume["secret"]["secretName"] == "corp-git"  # the operator's, never the chart's
        app = pod["containers"][0]
        mount = by_name(app["volumeMounts"], "private-credentials")
        assert mount == {"name": "private-credentials", "mountPath": "/etc/depot/private",
                         "readOnly": True}
        fetchers += 1
    assert fetchers >= 2  # the web pods (fetch on a miss) and the workers
    plain = render("default")
    assert config(plain)["DEPOT_PRIVATE"] == "" and "DEPOT_PRIVATE_NETRC" not in config(plain)
    assert all("private-credentials" not in json.dumps(pod) for _, pod in pod_specs(plain))


def test_a_queue_without_workers_does_not_render(render: Callable[..., Manifests]) -> None:
    with pytest.raises(HelmError, match="notify"):
        render("default", "workers.groups.light.queues={index}")
    with pytest.raises(HelmError, match="unknown queue"):
        render("default", "workers.groups.light.queues={index,notify,mail}")


def test_resources_default_to_gocenters(rendered: dict[str, Manifests]) -> None:
    m = rendered["default"]
    for deployment in (web(m), m.get("Deployment", f"{FULLNAME}-worker-ingest")):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["resources"] == {
            "requests": {"cpu": "800m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}


def test_every_container_has_resources(rendered: dict[str, Manifests], env: str) -> None:
    for obj, pod in pod_specs(rendered[env]):
        for container in containers(pod):
            resources = container.get("resources", {})
            assert resources.get("requests", {}).get("memory"), (obj["metadata"]["name"],
                                                                 container["name"])
            assert resources.get("limits", {}).get("memory"), (obj["metadata"]["name"],
                                                               container["name"])


# --- security ------------------------------------------------------------------------


def test_pods_run_unprivileged(rendered: dict[str, Manifests], env: str) -> None:
    for obj, pod in pod_specs(rendered[env]):
        where = obj["metadata"]["name"]
        sc = pod["securityContext"]
        assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 1000, where
        assert sc["seccompProfile"]["type"] == "RuntimeDefault", where
        assert pod.get("automountServiceAccountToken") is False, where
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in containers(pod):
            csc = container["securityContext"]
            assert csc["readOnlyRootFilesystem"] is True, (where, container["name"])
            assert csc["allowPrivilegeEscalation"] is False, (where, container["name"])
            assert csc["capabilities"]["drop"] == ["ALL"], (where, container["name"])
            assert csc.get("runAsUser", 1000) == 1000 and "privileged" not in csc
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert tmp and "emptyDir" in volumes[tmp[0]["name"]], (where, container["name"])


def test_no_secret_is_a_plain_env_value(rendered: dict[str, Manifests], env: str) -> None:
    for obj, pod in pod_specs(rendered[env]):
        for container in containers(pod):
            for var in container.get("env", []):
                name = var["name"]
                if name in SECRET_NAMES or SECRETISH.search(name):
                    assert "value" not in var and "valueFrom" in var, (
                        f"{obj['metadata']['name']}/{container['name']}: {name} as a value")
    for cm in rendered[env].kind("ConfigMap"):
        for key in cm.get("data", {}):
            assert key not in SECRET_NAMES and not SECRETISH.search(key), (cm, key)


def test_the_apps_containers_read_the_secret(rendered: dict[str, Manifests], env: str) -> None:
    secret = rendered[env].kind("Secret")
    name = secret[0]["metadata"]["name"] if secret else ENVIRONMENT_SECRETS[env]
    for obj, pod in pod_specs(rendered[env]):
        for container in containers(pod):
            if container["name"] == "nginx":
                assert "envFrom" not in container
                continue
            refs = [e["secretRef"]["name"] for e in container["envFrom"] if "secretRef" in e]
            assert refs == [name], (obj["metadata"]["name"], container["name"])


def test_existing_secret_renders_no_secret(rendered: dict[str, Manifests]) -> None:
    for env in ENVIRONMENT_SECRETS:
        assert rendered[env].kind("Secret") == [], env
    auth = rendered["prod"].get("TriggerAuthentication", f"{FULLNAME}-redis")
    assert {r["name"] for r in auth["spec"]["secretTargetRef"]} == {"depot-prod"}


def test_chart_secret_holds_the_given_values_and_exists_before_the_migration(
        rendered: dict[str, Manifests]) -> None:
    import base64

    m = rendered["all"]
    secret = m.get("Secret", FULLNAME)
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert set(data) == SECRET_NAMES
    job = m.get("Job", f"{FULLNAME}-migrate")
    assert "pre-install" in secret["metadata"]["annotations"]["helm.sh/hook"]
    assert (int(secret["metadata"]["annotations"]["helm.sh/hook-weight"])
            < int(job["metadata"]["annotations"]["helm.sh/hook-weight"]))
    # No value given: only a generated cookie key, nothing empty.
    default = rendered["default"].get("Secret", FULLNAME)
    assert set(default["data"]) == {"DEPOT_SECRET_KEY"}


# --- migrations ----------------------------------------------------------------------


def test_migration_job_is_a_hook(rendered: dict[str, Manifests]) -> None:
    for env in ("default", "staging", "prod", "all"):
        job = rendered[env].get("Job", f"{FULLNAME}-migrate")
        notes = job["metadata"]["annotations"]
        assert set(notes["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
        assert "before-hook-creation" in notes["helm.sh/hook-delete-policy"]
        pod = job["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["command"] == ["flask", "--app", "app", "migrate"]
        # Nothing the release creates later: no ConfigMap, no ServiceAccount, no PVC.
        assert not [e for e in container.get("envFrom", []) if "configMapRef" in e]
        assert "serviceAccountName" not in pod
        assert not [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
        assert env_of(container)["DEPOT_STORE"]["value"]


def test_embedded_sqlite_migrates_in_the_web_pod(rendered: dict[str, Manifests]) -> None:
    m = rendered["dev"]
    assert m.kind("Job") == []
    init = by_name(web(m)["spec"]["template"]["spec"]["initContainers"], "migrate")
    assert init["command"] == ["flask", "--app", "app", "migrate"]


# --- scaling -------------------------------------------------------------------------


def test_web_hpa_on_cpu(rendered: dict[str, Manifests]) -> None:
    m = rendered["default"]
    hpa = m.get("HorizontalPodAutoscaler", f"{FULLNAME}-web")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1", "kind": "Deployment", "name": f"{FULLNAME}-web"}
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert "replicas" not in web(m)["spec"]
    assert rendered["dev"].kind("HorizontalPodAutoscaler") == []
    assert web(rendered["dev"])["spec"]["replicas"] == 1


def test_keda_scales_each_group_on_its_queues(rendered: dict[str, Manifests]) -> None:
    for env in ("staging", "prod", "all"):
        m = rendered[env]
        objects = {o["spec"]["scaleTargetRef"]["name"]: o for o in m.kind("ScaledObject")}
        workers = m.workers()
        assert set(objects) == {w["metadata"]["name"] for w in workers}
        for worker in workers:
            assert "replicas" not in worker["spec"], "KEDA owns the replicas"
            queues = worker["spec"]["template"]["spec"]["containers"][0]["command"][4:]
            triggers = objects[worker["metadata"]["name"]]["spec"]["triggers"]
            assert [t["type"] for t in triggers] == ["redis"] * len(queues)
            assert [t["metadata"]["listName"] for t in triggers] == [
                f"rq:queue:{q}" for q in queues]
            for trigger in triggers:
                assert trigger["metadata"]["address"]
                assert trigger["authenticationRef"]["name"] == f"{FULLNAME}-redis"
        # KEDA makes its own HPAs: no second one for a worker.
        assert [h["spec"]["scaleTargetRef"]["name"]
                for h in m.kind("HorizontalPodAutoscaler")] == [f"{FULLNAME}-web"]
    for env in ("default", "dev"):
        assert rendered[env].kind("ScaledObject") == []
        assert all(w["spec"]["replicas"] >= 1 for w in rendered[env].workers())


def test_worker_cpu_hpa_without_keda(render: Callable[..., Manifests]) -> None:
    m = render("default", "workers.groups.validate.autoscaling.enabled=true")
    hpas = {h["spec"]["scaleTargetRef"]["name"] for h in m.kind("HorizontalPodAutoscaler")}
    assert hpas == {f"{FULLNAME}-web", f"{FULLNAME}-worker-validate"}
    validate = m.get("Deployment", f"{FULLNAME}-worker-validate")
    assert "replicas" not in validate["spec"]


def test_pdb_keeps_web_serving(rendered: dict[str, Manifests]) -> None:
    pdb = rendered["default"].get("PodDisruptionBudget", f"{FULLNAME}-web")
    assert pdb["spec"]["minAvailable"] == 1
    assert (pdb["spec"]["selector"]["matchLabels"]
            == web(rendered["default"])["spec"]["selector"]["matchLabels"])
    assert rendered["dev"].kind("PodDisruptionBudget") == []


# --- scheduling and storage ----------------------------------------------------------


def test_web_pods_spread_over_hosts(rendered: dict[str, Manifests]) -> None:
    deployment = web(rendered["default"])
    affinity = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    (term,) = affinity["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert (term["podAffinityTerm"]["labelSelector"]["matchLabels"]
            == deployment["spec"]["selector"]["matchLabels"])


def test_node_pools_per_component(rendered: dict[str, Manifests]) -> None:
    m = rendered["prod"]
    pod = web(m)["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"depot.dev/pool": "web"}
    assert pod["tolerations"][0]["value"] == "web"
    for worker in m.workers():
        pod = worker["spec"]["template"]["spec"]
        assert pod["nodeSelector"] == {"depot.dev/pool": "workers"}
        assert pod["tolerations"][0]["value"] == "workers"
    pod = web(rendered["all"])["spec"]["template"]["spec"]
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == ["web"]
    assert "podAntiAffinity" in pod["affinity"]


def test_shared_volume(rendered: dict[str, Manifests]) -> None:
    pvc = rendered["default"].get("PersistentVolumeClaim", FULLNAME)
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert "storageClassName" not in pvc["spec"]
    pvc = rendered["all"].get("PersistentVolumeClaim", FULLNAME)
    assert pvc["spec"]["storageClassName"] == "shared-files"
    for obj in (web(rendered["default"]), *rendered["default"].workers()):
        pod = obj["spec"]["template"]["spec"]
        assert by_name(pod["volumes"], "data")["persistentVolumeClaim"]["claimName"] == FULLNAME
        mounts = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        assert "/data" in mounts
    # S3 and nothing to persist: no claim, scratch space only.
    assert rendered["prod"].kind("PersistentVolumeClaim") == []
    assert "emptyDir" in by_name(web(rendered["prod"])["spec"]["template"]["spec"]["volumes"],
                                 "data")


def test_ingress(rendered: dict[str, Manifests]) -> None:
    assert rendered["default"].kind("Ingress") == []
    ingress = rendered["all"].get("Ingress", FULLNAME)
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"][0]["secretName"] == "depot-tls"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": FULLNAME, "port": {"name": "http"}}


# --- network -------------------------------------------------------------------------


def test_network_policies(rendered: dict[str, Manifests]) -> None:
    assert rendered["default"].kind("NetworkPolicy") == []
    m = rendered["all"]
    policy = m.get("NetworkPolicy", f"{FULLNAME}-web")
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "web"
    (rule,) = policy["spec"]["ingress"]
    assert rule["ports"] == [{"port": 8080, "protocol": "TCP"}]
    assert len(rule["from"]) == 2
    closed = m.get("NetworkPolicy", f"{FULLNAME}-no-ingress")
    assert closed["spec"]["policyTypes"] == ["Ingress"] and "ingress" not in closed["spec"]
    egress = m.get("NetworkPolicy", f"{FULLNAME}-egress")["spec"]["egress"]
    ports = {(p["port"], p["protocol"]) for rule in egress for p in rule["ports"]}
    assert {(53, "UDP"), (53, "TCP"), (5432, "TCP"), (6379, "TCP"), (9200, "TCP"),
            (443, "TCP")} <= ports


# --- monitoring ----------------------------------------------------------------------


def metric_names(text: str) -> set[str]:
    names = set(re.findall(r"\bdepot_[a-z_]+", text))
    return {re.sub(r"_(bucket|sum|count)$", "", n) for n in names}


def test_service_monitor_scrapes_metrics(rendered: dict[str, Manifests]) -> None:
    m = rendered["all"]
    monitor = m.get("ServiceMonitor", FULLNAME)
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    service = m.get("Service", FULLNAME)
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert monitor["spec"]["selector"]["matchLabels"].items() <= (
        service["metadata"]["labels"].items())
    assert monitor["spec"]["namespaceSelector"]["matchNames"] == [NAMESPACE]
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert rendered["default"].kind("ServiceMonitor") == []


def test_prometheus_rule_alerts(rendered: dict[str, Manifests]) -> None:
    rule = rendered["all"].get("PrometheusRule", FULLNAME)
    alerts = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}
    wanted = {
        "DepotQueueBacklog": {"depot_queue_depth"},
        "DepotJobFailureRate": {"depot_jobs_total"},
        "DepotHTTP5xxRate": {"depot_http_requests_total"},
        "DepotNotReady": {"depot_dependency_up"},
    }
    assert set(wanted) <= set(alerts)
    for name, metrics in wanted.items():
        expr = alerts[name]["expr"]
        assert metrics <= metric_names(expr), (name, expr)
        assert f'namespace="{NAMESPACE}"' in expr and f'service="{FULLNAME}"' in expr
        assert alerts[name]["labels"]["severity"]
        assert alerts[name]["annotations"]["runbook"].startswith("docs/operations.md#")
    assert 'status=~"5.."' in alerts["DepotHTTP5xxRate"]["expr"]
    assert 'outcome="failed"' in alerts["DepotJobFailureRate"]["expr"]
    for alert in alerts.values():
        assert metric_names(alert["expr"]) <= METRICS, alert["expr"]


def test_runbook_for_every_alert() -> None:
    """Every alert's runbook anchor exists in docs/operations.md."""
    text = (CHART / "templates" / "prometheusrule.yaml").read_text()
    anchors = set(re.findall(r"docs/operations\.md#([a-z0-9-]+)", text))
    assert len(anchors) >= 4
    doc = (CHART.parents[1] / "docs" / "operations.md").read_text()
    headings = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
                for h in re.findall(r"^#+ (.+)$", doc, flags=re.M)}
    assert anchors <= headings, anchors - headings


def test_grafana_dashboard(rendered: dict[str, Manifests]) -> None:
    m = rendered["all"]
    (cm,) = [c for c in m.kind("ConfigMap") if c["metadata"]["name"].endswith("-dashboard")]
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    (text,) = cm["data"].values()
    dashboard = json.loads(text)
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = metric_names("\n".join(exprs))
    assert used == METRICS, METRICS ^ used
    assert len(dashboard["panels"]) >= 10
    assert rendered["default"].kind("ConfigMap") and not [
        c for c in rendered["default"].kind("ConfigMap") if "grafana_dashboard"
        in c["metadata"]["labels"]]


# --- values --------------------------------------------------------------------------


FREE_FORM = {"labels", "annotations", "podAnnotations", "nodeSelector", "extraEnv",
             "commonLabels", "matchLabels"}


def test_every_value_is_documented() -> None:
    """Each value has a comment just above it or above an enclosing key (the parts of a
    documented object, e.g. resources.requests.cpu, need none of their own)."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    stack: list[tuple[int, str, bool]] = []  # enclosing keys: (indent, key, documented)
    undocumented = []
    for i, line in enumerate(lines):
        match = re.match(r"^( *)([A-Za-z][A-Za-z0-9_./-]*):(.*)$", line)
        if not match:
            continue
        indent, key, rest = len(match[1]), match[2], match[3].strip()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        documented = i > 0 and lines[i - 1].strip().startswith("#")
        inherited = any(d for _, _, d in stack)
        if rest and not rest.startswith("#") and not (documented or inherited):
            undocumented.append(f"line {i + 1}: {key}")
        if not any(k in FREE_FORM for _, k, _ in stack):
            assert re.fullmatch(r"[a-z][A-Za-z0-9]*", key), f"values are camelCase: {key}"
        stack.append((indent, key, documented or inherited))
    assert not undocumented, undocumented


def test_values_files_are_environments() -> None:
    for env in ("dev", "staging", "prod"):
        assert (CHART / f"values-{env}.yaml").is_file()
    chart = (CHART / "Chart.yaml").read_text()
    assert re.search(r"^version: \d+\.\d+\.\d+$", chart, flags=re.M)
    assert re.search(r'^appVersion: "[^"]+"$', chart, flags=re.M)


def test_no_machine_paths_in_the_chart() -> None:
    here = {str(Path(CHART).resolve().parents[1]), str(Path.home())}  # this checkout, $HOME
    for path in Path(CHART).rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert not any(place in text for place in here), path


VARIANTS = {
    "no-sidecar": ("nginx.enabled=false", "networkPolicy.enabled=true"),
    "keda-without-password": ("keda.enabled=true", "redis.address=redis:6379",
                              "keda.redisPassword=false"),
    "existing-claim-hard-spread": ("persistence.existingClaim=mine",
                                   "web.podAntiAffinity=hard"),
    "own-service-account": ("serviceAccount.create=false", "serviceAccount.name=depot-sa"),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_variants_match_kubernetes_schemas(render: Callable[..., Manifests],
                                           variant: str) -> None:
    for obj in render("default", *VARIANTS[variant]).docs:
        if (obj["apiVersion"], obj["kind"]) not in CUSTOM_RESOURCES:
            kubernetes_validate.validate(obj, KUBE_VERSIONS[0], strict=True)


def test_without_the_sidecar_gunicorn_serves(render: Callable[..., Manifests]) -> None:
    m = render("default", *VARIANTS["no-sidecar"])
    pod = web(m)["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["web"]
    assert pod["containers"][0]["ports"] == [
        {"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert config(m)["DEPOT_ACCEL_REDIRECT"] == ""
    (rule,) = m.get("NetworkPolicy", f"{FULLNAME}-web")["spec"]["ingress"]
    assert rule["ports"] == [{"port": 8000, "protocol": "TCP"}]


def test_variant_settings_reach_the_objects(render: Callable[..., Manifests]) -> None:
    m = render("default", *VARIANTS["keda-without-password"])
    assert m.kind("TriggerAuthentication") == []
    assert all("authenticationRef" not in t for o in m.kind("ScaledObject")
               for t in o["spec"]["triggers"])
    m = render("default", *VARIANTS["existing-claim-hard-spread"])
    assert m.kind("PersistentVolumeClaim") == []
    pod = web(m)["spec"]["template"]["spec"]
    assert by_name(pod["volumes"], "data")["persistentVolumeClaim"]["claimName"] == "mine"
    assert pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    m = render("default", *VARIANTS["own-service-account"])
    assert m.kind("ServiceAccount") == []
    for _, pod in pod_specs(m):
        assert pod["serviceAccountName"] == "depot-sa"
