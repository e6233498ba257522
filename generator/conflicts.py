"""Conflicts: values that would replace what gemma-gitops owns in the pod, or contradict each other.

The escape hatches (`llama.extraArgs`, `extraEnv`, `extraVolumes` and their mounts, `podLabels`,
`podAnnotations`) add to the pod we render; they never replace a part of it, silently or not.
Refused, each at the values line that set it, before anything renders (a values error, exit 2):

- a label, annotation, environment variable or volume the template sets itself (render.py lists them);
- a mount of anything but `extraVolumes`, or at, under or above a path we mount (/models, /tmp, the
  proxy's config, key and run directories); a `hostPath` volume; any use of the API key's Secret
  outside the proxy;
- a llama-server flag the pinned build does not know, one we render from the values, or one we own
  for a reason (listed in OWNED below), and its environment variable;
- GPU settings that cannot work together (`-ngl` without a GPU, a GPU without memory to plan for);
- an ApplicationSet without clusters.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from . import llamaflags
from .capacity.gpu import gpu_memory_bytes
from .errors import ValuesError
from .plan import Plan
from .problems import KeyPath, Problem
from .render import LLAMA_ENV, MOUNT_PATHS, POD_ANNOTATIONS, POD_LABELS, PROXY_ENV, VOLUMES, llama_args

_PROXY_ONLY = "the auth proxy is llama-server's only client: it speaks plain HTTP to 127.0.0.1 at /"
_UNTRUSTED = "llama.cpp says not to enable it in untrusted environments, and every key holder would reach it"
_MODEL = "the model comes from `model` (the memory budget and the startup window are planned for it)"
_SECOND_MODEL = "it loads another model, which the memory budget does not count"
_PLACEMENT = "it decides where layers go, which the budget plans as llama.gpu describes"
# Flags owned for a reason other than being rendered from the values (those are found from the plan).
OWNED: dict[str, str] = {
    **dict.fromkeys(("--host", "--port", "--path", "--api-prefix", "--ssl-key-file", "--ssl-cert-file"), _PROXY_ONLY),
    **dict.fromkeys(("--api-key", "--api-key-file"), "the auth proxy checks the API key (apiKey, proxy)"),
    **dict.fromkeys(("--tools", "--tools-runtime", "--mcp-servers-config", "--mcp-servers-json", "--agent",
                     "--ui-mcp-proxy", "--webui", "--ui-config", "--ui-config-file", "--media-path"), _UNTRUSTED),
    **dict.fromkeys(("--model", "--model-url", "--docker-repo", "--hf-repo", "--hf-file", "--models-dir",
                     "--models-preset", "--models-max", "--models-autoload"), _MODEL),
    "--hf-token": "a token on the command line is a token in git: give HF_TOKEN in llama.extraEnv from a Secret (valueFrom)",
    **dict.fromkeys(("--spec-draft-model", "--spec-draft-hf", "--mmproj", "--mmproj-url", "--mmproj-auto", "--lora",
                     "--lora-scaled", "--control-vector", "--control-vector-scaled", "--spec-default", "--rpc"),
                    _SECOND_MODEL),
    **dict.fromkeys(("--embeddings", "--pooling", "--rerank", "--swa-full", "--kv-unified", "--gpu-layers", "--fit",
                     "--fit-target", "--fit-ctx"), "it changes the memory budget: set it through the values (llama.*)"),
    **dict.fromkeys(("--tensor-split", "--split-mode", "--main-gpu", "--device"), _PLACEMENT),
    "--metrics": "metrics.enabled turns it on, and only the proxy's metrics port serves it",
}
# Flags refused on the command line whose variable is the right way to give them (from a Secret).
ENV_ALLOWED = frozenset({"--hf-token"})
_DOWNLOADS = "can download weights"  # the help of every built-in model preset (`--gpt-oss-20b-default`, ...)
_BUILD_TAG = re.compile(rf"(^|[:-])b{llamaflags.BUILD}$")


def _at(plan: Plan, path: KeyPath, message: str) -> Problem:
    return plan.values.locate(path, message, rule="values-conflict")


# -- labels and annotations --------------------------------------------------------------------


def metadata_problems(plan: Plan) -> Iterator[Problem]:
    """podLabels and podAnnotations may add keys, never set ours."""
    for key in plan.spec.pod_labels:
        if key in POD_LABELS:
            yield _at(plan, ("podLabels", key), f"label {key!r} is ours: the Service, NetworkPolicy and "
                      "PodDisruptionBudget select the pods by it; choose another key")
    for key in plan.spec.pod_annotations:
        if key in POD_ANNOTATIONS:
            yield _at(plan, ("podAnnotations", key), f"annotation {key!r} is ours: it rolls the pod when the "
                      "proxy's configuration changes; choose another key")


# -- env -----------------------------------------------------------------------------------------


def owned_env(plan: Plan) -> dict[str, str]:
    """llama-server's variables we set or own: ours, and the variable of every flag we own."""
    owned = {name: "set by gemma-gitops" for name in LLAMA_ENV}
    for spelling, reason in owned_flags(plan).items():
        flag = llamaflags.known()[spelling]
        if flag.env and flag.env not in owned and not ENV_ALLOWED & set(flag.spellings):
            owned[flag.env] = f"llama-server reads it as {spelling}, which is not settable here: {reason}"
    return owned


def env_problems(plan: Plan, container: str, entries: tuple[Mapping[str, Any], ...],
                 owned: Mapping[str, str]) -> Iterator[Problem]:
    """Extra variables: a name once and not ours, a value or a valueFrom, never the API key."""
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        path, name = (container, "extraEnv", index), str(entry.get("name"))
        if name in owned:
            yield _at(plan, (*path, "name"), f"{name!r} cannot be overridden: {owned[name]}")
        elif name in seen:
            yield _at(plan, (*path, "name"), f"{name!r} is given twice")
        seen.add(name)
        if entry.get("value") is not None and entry.get("valueFrom") is not None:
            yield _at(plan, path, f"{name!r} has both value and valueFrom; give one")
        secret = entry.get("valueFrom", {}).get("secretKeyRef", {}) if isinstance(entry.get("valueFrom"), Mapping) else {}
        if isinstance(secret, Mapping) and secret.get("name") == plan.names.secret:
            yield _at(plan, (*path, "valueFrom"), f"Secret {plan.names.secret!r} holds the API key: it stays in the proxy")


# -- volumes and mounts ------------------------------------------------------------------------


def _secret_names(volume: Mapping[str, Any]) -> Iterator[str]:
    """The Secrets a volume reads: a secret volume's, and a projected volume's sources'."""
    secret = volume.get("secret")
    if isinstance(secret, Mapping):
        yield str(secret.get("secretName"))
    projected = volume.get("projected")
    for source in projected.get("sources", ()) if isinstance(projected, Mapping) else ():
        if isinstance(source, Mapping) and isinstance(source.get("secret"), Mapping):
            yield str(source["secret"].get("name"))


def volume_problems(plan: Plan) -> Iterator[Problem]:
    """Extra volumes: new names, no host paths, not the key's Secret."""
    seen: set[str] = set()
    for index, volume in enumerate(plan.spec.extra_volumes):
        path, name = ("extraVolumes", index), str(volume.get("name"))
        if name in VOLUMES:
            yield _at(plan, (*path, "name"), f"volume {name!r} is ours; choose another name")
        elif name in seen:
            yield _at(plan, (*path, "name"), f"volume {name!r} is given twice")
        seen.add(name)
        if "hostPath" in volume:
            yield _at(plan, (*path, "hostPath"), "a hostPath volume exposes the node's filesystem to the pod; "
                      "use a PersistentVolumeClaim, ConfigMap or Secret")
        if plan.names.secret in _secret_names(volume):
            yield _at(plan, path, f"Secret {plan.names.secret!r} holds the API key: only the proxy mounts it")


def _overlaps(path: str, ours: str) -> bool:
    """Whether mounting at `path` would cover `ours` or land inside it."""
    a, b = path.rstrip("/") or "/", ours.rstrip("/")
    return a == b or b.startswith(a if a == "/" else a + "/") or a.startswith(b + "/")


def mount_problems(plan: Plan, container: str, mounts: tuple[Mapping[str, Any], ...]) -> Iterator[Problem]:
    """Extra mounts: of an extra volume, clear of every path we mount, each path once."""
    volumes = {str(v.get("name")) for v in plan.spec.extra_volumes}
    seen: set[str] = set()
    for index, mount in enumerate(mounts):
        path, name, target = (container, "extraVolumeMounts", index), str(mount.get("name")), str(mount.get("mountPath"))
        if name not in volumes:
            listed = ", ".join(sorted(volumes)) or "none"
            yield _at(plan, (*path, "name"), f"mounts volume {name!r}, which extraVolumes does not define "
                      f"(only extraVolumes may be mounted; they are: {listed})")
        covered = [ours for ours in MOUNT_PATHS if _overlaps(target, ours)]
        if covered:
            yield _at(plan, (*path, "mountPath"), f"{target!r} would mount over {covered[0]}, which gemma-gitops "
                      "mounts (the model cache, scratch space, or the proxy's config, key and run directories)")
        elif target.rstrip("/") in seen:
            yield _at(plan, (*path, "mountPath"), f"{target!r} is mounted twice in this container")
        seen.add(target.rstrip("/"))


# -- llama-server flags ------------------------------------------------------------------------


def owned_flags(plan: Plan) -> dict[str, str]:
    """Every spelling of every flag we render or own → why it is not the values' to set."""
    known = llamaflags.known()
    reasons: dict[str, str] = {}
    for arg in llama_args(plan):
        if arg in known:
            reasons.update(dict.fromkeys(known[arg].spellings, f"gemma-gitops renders {arg} from the values"))
    for spelling, reason in OWNED.items():
        reasons.update(dict.fromkeys(known[spelling].spellings, reason))
    for flag in known.values():
        if _DOWNLOADS in flag.help:
            reasons.update(dict.fromkeys(flag.spellings, _MODEL))
    return reasons


def extra_args_problems(plan: Plan) -> Iterator[Problem]:
    """Each extra flag is one the pinned build knows and we do not own, with its values."""
    args = plan.spec.llama.extra_args
    if not args:
        return
    image = plan.llama_image.split("@", 1)[0].rpartition(":")[2]
    if not _BUILD_TAG.search(image):
        yield _at(plan, ("llama", "extraArgs"), f"extraArgs are checked against llama-server b{llamaflags.BUILD}'s "
                  f"flags, but the image {plan.llama_image!r} does not name that build in its tag")
        return
    known, owned, index = llamaflags.known(), owned_flags(plan), 0
    while index < len(args):
        arg, path = llamaflags.normalize(args[index]), ("llama", "extraArgs", index)
        if arg not in known:
            close = difflib.get_close_matches(arg, known, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            expected = "a flag" if arg.startswith("-") else "a flag (each value follows its flag)"
            yield _at(plan, path, f"{args[index]!r}: llama-server b{llamaflags.BUILD} knows no such flag; "
                      f"expected {expected}{hint}")
            index += 1
            continue
        needed = known[arg].values
        given = list(itertools.takewhile(lambda a: llamaflags.normalize(a) not in known, args[index + 1:index + 1 + needed]))
        if arg in owned:
            yield _at(plan, path, f"{args[index]} is not settable here: {owned[arg]}")
        elif len(given) < needed:
            yield _at(plan, path, f"{args[index]} takes {needed} value{'s' if needed > 1 else ''}, "
                      "each its own item right after it")
        index += 1 + len(given)


# -- GPU and Argo CD -----------------------------------------------------------------------------


def gpu_problems(plan: Plan) -> Iterator[Problem]:
    """A GPU is asked for exactly when layers are offloaded, and has a memory to plan for."""
    llama, gpu = plan.spec.llama, plan.spec.llama.gpu
    if llama.gpu_layers > 0 and not gpu.enabled:
        yield _at(plan, ("llama", "gpuLayers"), f"-ngl {llama.gpu_layers} offloads layers to a GPU, but no GPU is "
                  "requested: set llama.gpu.enabled (with its card or memoryGiB), or llama.gpuLayers: 0")
    if not gpu.enabled:
        return
    if llama.gpu_layers == 0:
        yield _at(plan, ("llama", "gpuLayers"), "llama.gpu requests a GPU but llama.gpuLayers is 0, so nothing would "
                  "run on it: set llama.gpuLayers (999 offloads every layer)")
    if gpu_memory_bytes(gpu.card, gpu.memory_gib, gpu.mig_profile) is None:
        yield _at(plan, ("llama", "gpu"), "the GPU's memory is unknown, so the VRAM budget cannot be checked: "
                  "set llama.gpu.card, llama.gpu.memoryGiB or llama.gpu.migProfile")
    if gpu.mig_profile and gpu.count > 1:
        yield _at(plan, ("llama", "gpu", "count"), "a CUDA process uses one MIG device: with migProfile, count must be 1")
    if gpu.runtime_class_name and plan.spec.runtime_class_name and gpu.runtime_class_name != plan.spec.runtime_class_name:
        yield _at(plan, ("runtimeClassName",), f"the pod runs with llama.gpu.runtimeClassName "
                  f"{gpu.runtime_class_name!r} on GPUs; {plan.spec.runtime_class_name!r} cannot apply too")


def application_set_problems(plan: Plan) -> Iterator[Problem]:
    """An ApplicationSet names its clusters: listed ones, or a selector that cannot match every cluster."""
    appset = plan.spec.argocd.application_set
    if not appset.enabled:
        return
    path: KeyPath = ("argocd", "applicationSet")
    if appset.generator == "list" and not appset.clusters:
        yield _at(plan, (*path, "clusters"), "the list generator needs at least one cluster")
    if appset.generator == "clusters" and not appset.selector:
        yield _at(plan, (*path, "selector"), "the clusters generator needs a selector: without one every cluster "
                  "Argo CD knows (in-cluster included) would receive this environment")
    names = [c.name for c in appset.clusters]
    for index, name in enumerate(names):
        if name in names[:index]:
            yield _at(plan, (*path, "clusters", index, "name"), f"cluster {name!r} is listed twice")


# -- the stage -----------------------------------------------------------------------------------


def _llama_env(plan: Plan) -> Iterator[Problem]:
    return env_problems(plan, "llama", plan.spec.llama.extra_env, owned_env(plan))


def _proxy_env(plan: Plan) -> Iterator[Problem]:
    return env_problems(plan, "proxy", plan.spec.proxy.extra_env, dict.fromkeys(PROXY_ENV, "set by gemma-gitops"))


def _mounts(plan: Plan) -> Iterator[Problem]:
    yield from mount_problems(plan, "llama", plan.spec.llama.extra_volume_mounts)
    yield from mount_problems(plan, "proxy", plan.spec.proxy.extra_volume_mounts)


CHECKS: tuple[Callable[[Plan], Iterator[Problem]], ...] = (
    metadata_problems, _llama_env, _proxy_env, volume_problems, _mounts, extra_args_problems, gpu_problems,
    application_set_problems,
)


def problems(plan: Plan) -> list[Problem]:
    """Every conflict in one environment's values, in check order."""
    return [problem for check in CHECKS for problem in check(plan)]


def check(plans: tuple[Plan, ...]) -> None:
    """Raise one values error (exit 2) listing every conflict of every environment."""
    found = [problem for plan in plans for problem in problems(plan)]
    if found:
        files = sorted({p.file for p in found})
        several = len(found) > 1
        raise ValuesError(f"{', '.join(files)}: {len(found)} value{'s' if several else ''} "
                          f"conflict{'' if several else 's'} with what gemma-gitops renders", tuple(found))
