"""What the metrics' alerts and dashboard derive from the values: the key file's rotation window and a slot's context."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..capacity.budget import context_layout
from .model import Spec

# The kubelet refreshes a Secret volume on its sync loop (1 minute by default) plus the age of its
# cached copy of the Secret (kubernetes.io/docs/concepts/configuration/secret, "Mounted Secrets are
# updated automatically"): two minutes covers both.
KUBELET_SECRET_SYNC_SECONDS = 120
GO_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)")
GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class Monitoring:
    """Numbers the PrometheusRule and the dashboard are written with, computed once."""

    key_rotation_window_seconds: int  # the longest a key change in the vault takes to reach the proxy
    slot_context: int  # tokens of context each llama-server slot holds (llamacpp:n_tokens_max's ceiling)


def go_duration_seconds(text: str) -> float:
    """A Go duration (`1h30m`, `15m`, `90s`; the values schema's pattern) in seconds."""
    parts = GO_DURATION.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"{text!r} is not a Go duration")
    return sum(float(number) * GO_UNITS[unit] for number, unit in parts)


def monitoring_for(spec: Spec) -> Monitoring:
    """The rotation window (ESO's refresh, the kubelet's sync, the proxy's reload) and a slot's context."""
    window = go_duration_seconds(spec.api_key.refresh_interval) + KUBELET_SECRET_SYNC_SECONDS
    window += spec.proxy.key_reload_seconds
    slot_context = context_layout(spec.llama.context_size, spec.llama.parallel, spec.llama.kv_unified)[1]
    return Monitoring(key_rotation_window_seconds=math.ceil(window), slot_context=slot_context)
