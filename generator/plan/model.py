"""The plan's vocabulary: one frozen dataclass per concept of the values, fields named as the schema's keys.

A field `request_timeout_seconds` holds the value of `requestTimeoutSeconds`; where the camelCase
spelling is not the plain conversion (`repoURL`, `cacheRamMiB`) the field's type says so:
`Annotated[str, Key("repoURL")]`.
Kubernetes-shaped values (resource lists, node selectors) keep Kubernetes' own key names; the ones the
pod spec carries verbatim (tolerations, affinity, extra volumes, env) stay Kubernetes objects, deeply
read-only (`K8sObject`), checked against the upstream types by the values stage.
`plan.build` fills these from validated values and refuses a key that has no field, so nothing the
schema allows can be silently ignored (and tests/plan proves every schema property has a field).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from ..capacity.catalog import Shape

K8sObject = Mapping[str, Any]  # a Kubernetes object as the values give it (read-only all the way down)


@dataclass(frozen=True)
class Key:
    """The values key of a field whose name is not the plain camelCase conversion of it."""

    name: str


@dataclass(frozen=True)
class ResourceList:
    """A container's CPU and memory, as Kubernetes quantities."""

    cpu: str
    memory: str

    def to_k8s(self) -> dict[str, str]:
        return {"cpu": self.cpu, "memory": self.memory}


@dataclass(frozen=True)
class Resources:
    """A container's requests and limits."""

    requests: ResourceList
    limits: ResourceList

    def to_k8s(self) -> dict[str, dict[str, str]]:
        return {"requests": self.requests.to_k8s(), "limits": self.limits.to_k8s()}


@dataclass(frozen=True)
class Autoscaling:
    """The optional HorizontalPodAutoscaler."""

    enabled: bool
    min_replicas: int
    max_replicas: int
    target_cpu_utilization_percentage: Annotated[int, Key("targetCPUUtilizationPercentage")]


@dataclass(frozen=True)
class Model:
    """The GGUF file llama-server downloads, and its geometry when the catalog does not know it."""

    hf_repo: str
    hf_file: str
    alias: str
    geometry: Shape | None = None


@dataclass(frozen=True)
class Startup:
    """What the startupProbe window is planned for: the first download, then the load."""

    min_download_mibps: Annotated[float, Key("minDownloadMiBps")]
    load_seconds: int
    probe_period_seconds: int


@dataclass(frozen=True)
class Gpu:
    """The optional NVIDIA GPU: what to request, where it runs, and how much memory it has."""

    enabled: bool
    vendor: str
    count: int
    mig_profile: Annotated[str, Key("migProfile")]
    card: str
    memory_gib: Annotated[float, Key("memoryGiB")]
    runtime_class_name: str
    tolerations: tuple[K8sObject, ...]
    image: str


@dataclass(frozen=True)
class Llama:
    """llama-server: image, port, every flag the memory budget depends on, and the escape hatches."""

    image: str
    port: int
    context_size: int
    gpu_layers: int
    threads: int
    batch_size: int
    ubatch_size: int
    parallel: int
    cache_ram_mib: Annotated[int, Key("cacheRamMiB")]
    ctx_checkpoints: int
    cache_type_k: str
    cache_type_v: str
    kv_unified: bool
    swa_full: bool
    embeddings: bool
    pooling: str
    resources: Resources
    startup: Startup
    extra_args: tuple[str, ...]
    extra_env: tuple[K8sObject, ...]
    extra_volume_mounts: tuple[K8sObject, ...]
    gpu: Gpu
    cpu_target: str | None = None  # a capacity/platform.py preset; None: what the nodeSelector's arch implies


@dataclass(frozen=True)
class Cache:
    """The model cache volume."""

    size: str
    storage_class: str
    access_mode: str


@dataclass(frozen=True)
class RateLimit:
    """The proxy's optional request rate limit."""

    enabled: bool
    by: str
    requests_per_second: int
    burst: int


@dataclass(frozen=True)
class Endpoint:
    """One more path the proxy lets through to llama-server, with its methods."""

    path: str
    methods: tuple[str, ...]


@dataclass(frozen=True)
class Cors:
    """Our own CORS policy (llama-server's reflected one never reaches a client)."""

    allowed_origins: tuple[str, ...]
    max_age_seconds: int


@dataclass(frozen=True)
class ProxyLimitSettings:
    """What the values say of the proxy's fairness and cost limits; 0 means derived from the slots and context."""

    concurrent_requests: int
    concurrent_per_key: int
    concurrent_per_client: int
    max_tokens: int
    completion_body_ki_b: Annotated[int, Key("completionBodyKiB")]
    failed_auth_per_minute: int


@dataclass(frozen=True)
class Proxy:
    """The auth proxy sidecar."""

    image: str
    port: int
    worker_processes: int
    worker_connections: int  # 0: as many as fit the memory limit (plan.proxy_limits)
    upstream_keepalive: int
    key_reload_seconds: int
    max_request_body_mib: Annotated[int, Key("maxRequestBodyMiB")]
    client_timeout_seconds: int
    header_timeout_seconds: int
    trusted_hops: int
    allowed_endpoints: tuple[Endpoint, ...]
    cors: Cors
    limits: ProxyLimitSettings
    rate_limit: RateLimit
    resources: Resources
    extra_env: tuple[K8sObject, ...]
    extra_volume_mounts: tuple[K8sObject, ...]


@dataclass(frozen=True)
class SecretStoreRef:
    """The (Cluster)SecretStore the ExternalSecret reads from."""

    kind: str
    name: str


@dataclass(frozen=True)
class ClusterSecretStore:
    """The optional OCI Vault ClusterSecretStore rendered by us."""

    enabled: bool
    principal_type: str
    vault_ocid: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class ApiKey:
    """Where the API key comes from: a vault entry, through External Secrets."""

    remote_key: str
    refresh_interval: str
    secret_store: SecretStoreRef
    cluster_secret_store: ClusterSecretStore


@dataclass(frozen=True)
class Gateway:
    """The Envoy Gateway the routes attach to."""

    name: str
    namespace: str
    https_section_name: str
    http_section_name: str
    proxy_namespace: str
    envoy_timeout_policy: bool


@dataclass(frozen=True)
class Tls:
    """The certificate for the hostname."""

    enabled: bool
    issuer_kind: str
    issuer_name: str


@dataclass(frozen=True)
class Destination:
    """The cluster an Application deploys to: by name when given, else by API server URL."""

    server: str
    name: str


@dataclass(frozen=True)
class Backoff:
    """The wait between sync retries."""

    duration: str
    factor: int
    max_duration: str


@dataclass(frozen=True)
class Retry:
    """How Argo CD retries a failed sync (limit 0: not at all)."""

    limit: int
    backoff: Backoff


@dataclass(frozen=True)
class Cluster:
    """A cluster as registered in Argo CD."""

    name: str
    server: str


@dataclass(frozen=True)
class ApplicationSet:
    """The optional ApplicationSet: this environment on several clusters."""

    enabled: bool
    generator: str  # list or clusters
    clusters: tuple[Cluster, ...]
    selector: Mapping[str, str]


@dataclass(frozen=True)
class ArgoCD:
    """The Argo CD Application (or ApplicationSet) that syncs the environment."""

    repo_url: Annotated[str, Key("repoURL")]
    target_revision: str
    project: str
    namespace: str
    destination: Destination
    sync_options: tuple[str, ...]
    retry: Retry
    application_set: ApplicationSet


@dataclass(frozen=True)
class PullSecret:
    """A Secret the kubelet pulls images with."""

    name: str


@dataclass(frozen=True)
class Service:
    """The Service in front of the auth proxy."""

    type: str
    annotations: Mapping[str, str]


@dataclass(frozen=True)
class Ingress:
    """The Ingress, when the route is one."""

    class_name: str
    controller_namespace: str
    certificate: str  # certificate (ours) or annotation (cert-manager's ingress-shim)


@dataclass(frozen=True)
class Route:
    """How traffic reaches the Service: Gateway API routes or an Ingress."""

    kind: str  # gateway or ingress
    ingress: Ingress


@dataclass(frozen=True)
class PodMonitor:
    """The optional Prometheus Operator PodMonitor."""

    enabled: bool
    interval: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class PrometheusRule:
    """The optional Prometheus Operator PrometheusRule, and the thresholds of its alerts."""

    enabled: bool
    labels: Mapping[str, str]
    time_to_first_token_seconds: float
    error_ratio: float
    bad_keys_per_second: float
    context_full_ratio: float


@dataclass(frozen=True)
class Dashboard:
    """The optional Grafana dashboard ConfigMap."""

    enabled: bool


@dataclass(frozen=True)
class Metrics:
    """Prometheus metrics of llama-server and the auth proxy, on a port of their own, and what reads them."""

    enabled: bool
    port: int
    monitoring_namespace: str
    pod_monitor: PodMonitor
    prometheus_rule: PrometheusRule
    dashboard: Dashboard


@dataclass(frozen=True)
class CapacityTargets:
    """What one pod should deliver to each user; `budget` estimates whether it does (capacity/serving.py)."""

    target_tokens_per_second_per_user: float


@dataclass(frozen=True)
class Spec:
    """Everything the values say, typed: the schema's properties, one field each."""

    name: str
    namespace: str
    hostname: str
    replicas: int
    autoscaling: Autoscaling
    request_timeout_seconds: int
    kubernetes_versions: tuple[str, ...]
    node_selector: Mapping[str, str]
    tolerations: tuple[K8sObject, ...]
    affinity: K8sObject
    topology_spread_constraints: tuple[K8sObject, ...]
    priority_class_name: str
    runtime_class_name: str
    pod_labels: Mapping[str, str]
    pod_annotations: Mapping[str, str]
    image_pull_secrets: tuple[PullSecret, ...]
    extra_volumes: tuple[K8sObject, ...]
    service: Service
    route: Route
    model: Model
    llama: Llama
    cache: Cache
    proxy: Proxy
    api_key: ApiKey
    gateway: Gateway
    tls: Tls
    argocd: ArgoCD
    metrics: Metrics
    capacity: CapacityTargets
    acknowledge: Mapping[str, str]  # guard warning ID → why the team accepts it
