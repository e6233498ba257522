"""Scrape a Prometheus text exposition and read it with prometheus_client's parser (PyPI prometheus-client).

The parser proves the text is well formed; the samples come back keyed by name and labels, with the
names as Prometheus stores them. (prometheus_client reports a counter named without `_total`, such as
llama-server's `llamacpp:n_tokens_max`, with `_total` appended; the name as exposed is kept here.)
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from testkit.proxy_client import request

SAMPLE_NAME = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", re.MULTILINE)
Labels = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class Exposition:
    """One scrape: its text, its families' types, and every sample's value by (name, labels)."""

    text: str
    types: Mapping[str, str]  # sample name → the type of its family
    samples: Mapping[tuple[str, Labels], float]

    @property
    def names(self) -> set[str]:
        """Every sample name, as Prometheus stores it."""
        return {name for name, _ in self.samples}

    def value(self, name: str, **labels: str) -> float:
        """The value of the one sample with this name and exactly these labels."""
        return self.samples[name, frozenset(labels.items())]

    def total(self, name: str, **labels: str) -> float:
        """The sum of every sample of `name` whose labels include these."""
        wanted = set(labels.items())
        return sum(v for (n, found), v in self.samples.items() if n == name and wanted <= found)

    def series(self, name: str) -> set[Labels]:
        """The label sets `name` has."""
        return {found for n, found in self.samples if n == name}


def parse(text: str) -> Exposition:
    """The exposition `text`, parsed; a malformed line raises."""
    exposed = set(SAMPLE_NAME.findall("\n".join(line for line in text.splitlines() if not line.startswith("#"))))
    types: dict[str, str] = {}
    samples: dict[tuple[str, Labels], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name = sample.name
            if name not in exposed and name.endswith("_total") and name[:-6] in exposed:
                name = name[:-6]  # a counter exposed without _total (see the module's docstring)
            assert name in exposed, f"{name} was parsed but is not in the text"
            key = (name, frozenset(sample.labels.items()))
            assert key not in samples, f"{key} appears twice"
            samples[key] = sample.value
            types[name] = family.type
    assert set(types) == exposed, exposed ^ set(types)
    return Exposition(text, types, samples)


def scrape(port: int, path: str = "/metrics") -> Exposition:
    """GET `path` on 127.0.0.1:`port` (no key) and parse the answer, which must be a 200 exposition."""
    reply = request(port, "GET", path, timeout=30)
    assert reply.status == 200, (path, reply.status, reply.body[:300])
    assert reply.headers["Content-Type"].startswith("text/plain; version=0.0.4"), reply.headers["Content-Type"]
    return parse(reply.body.decode("utf-8"))


def delta(before: Exposition, after: Exposition) -> dict[tuple[str, Labels], float]:
    """Every sample that changed between two scrapes of the same target, by how much."""
    return {key: after.samples[key] - before.samples.get(key, 0.0) for key in after.samples
            if after.samples[key] != before.samples.get(key, 0.0)}


# metrics.lua's SYNC_SECONDS, and a margin: a worker's counts reach the dictionary within it.
SYNC_SECONDS = 0.3


def settled(read: Callable[[], Exposition], name: str = "gemma_proxy_requests_total", seconds: float = 10.0) -> Exposition:
    """A scrape once the total of `name` stops moving: nginx counts a request in its log phase, after the
    response is sent, and each worker adds its counts to what is served every 0.2 s, so a client can see
    its answer before the count."""
    deadline, last = time.monotonic() + seconds, read()
    while True:
        time.sleep(SYNC_SECONDS)
        now = read()
        if now.total(name) == last.total(name):
            return now
        assert time.monotonic() < deadline, f"{name} kept moving"
        last = now
