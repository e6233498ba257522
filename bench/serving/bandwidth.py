"""The machine's limit for decoding: memory bandwidth under the same CPU quota, STREAM-style.

A small C program, compiled here with the system's `cc -O2 -pthread` (no `-march=native`: nothing
that could SIGILL on another CPU; memcpy is glibc's, which picks its own vector width at run time),
runs `threads` threads over arrays far larger than the last-level cache. Each thread first-touches
its own slice; a barrier starts and ends every repetition. Two kernels:

- copy: memcpy of the slice, counted as 2 x bytes (read + write), as STREAM counts Copy;
- read: a sum over the slice (four 64-bit accumulators), counted as 1 x bytes: decoding reads the
  weights and writes almost nothing, so this is the bound generation meets.

The program waits for a line on stdin before it measures, so it is under the quota first.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.serving.quota import Quota
from bench.stats import Summary, summarize

ARRAY_MIB = 512  # per array, all threads together: 16x the 32 MiB L3 of the machine measured
REPEATS = 12
TIMEOUT_SECONDS = 300

SOURCE = r"""
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int nthreads, repeats;
static size_t slice;               /* bytes per thread and array */
static pthread_barrier_t start, stop;
static volatile uint64_t sink;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *worker(void *arg) {
    char *src = malloc(slice), *dst = malloc(slice);
    if (!src || !dst) { perror("malloc"); exit(2); }
    memset(src, (int)(intptr_t)arg + 1, slice);   /* first touch by the thread that uses it */
    memset(dst, 0, slice);
    for (int kernel = 0; kernel < 2; kernel++) {
        for (int r = 0; r < repeats; r++) {
            pthread_barrier_wait(&start);
            if (kernel == 0) {
                memcpy(dst, src, slice);
            } else {
                const uint64_t *p = (const uint64_t *)src;
                uint64_t a = 0, b = 0, c = 0, d = 0;
                for (size_t i = 0; i + 4 <= slice / 8; i += 4) { a += p[i]; b += p[i + 1]; c += p[i + 2]; d += p[i + 3]; }
                sink += a + b + c + d;
            }
            pthread_barrier_wait(&stop);
        }
    }
    free(src);
    free(dst);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: stream THREADS MIB REPEATS\n"); return 2; }
    nthreads = atoi(argv[1]);
    repeats = atoi(argv[3]);
    slice = ((size_t)atoi(argv[2]) << 20) / nthreads / 64 * 64;
    pthread_barrier_init(&start, NULL, nthreads + 1);
    pthread_barrier_init(&stop, NULL, nthreads + 1);
    pthread_t *threads = calloc(nthreads, sizeof *threads);
    for (int i = 0; i < nthreads; i++) pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i);
    char line[16];
    if (!fgets(line, sizeof line, stdin)) return 2;   /* go: we are under the quota now */
    const char *names[2] = {"copy", "read"};
    const double counted[2] = {2.0, 1.0};
    for (int kernel = 0; kernel < 2; kernel++) {
        for (int r = 0; r < repeats; r++) {
            pthread_barrier_wait(&start);
            double t0 = now();
            pthread_barrier_wait(&stop);
            double seconds = now() - t0;
            printf("%s %.6f\n", names[kernel], counted[kernel] * slice * nthreads / seconds / 1e9);
        }
    }
    for (int i = 0; i < nthreads; i++) pthread_join(threads[i], NULL);
    return (int)(sink & 0);
}
"""


class BandwidthError(RuntimeError):
    """The bandwidth program could not be built or run."""


@dataclass(frozen=True)
class Bandwidth:
    """GB/s (10^9 bytes) of each kernel under one quota: the best repetition, as STREAM reports, and the spread."""

    cores: float
    threads: int
    method: str
    copy: Summary
    read: Summary
    copy_best: float
    read_best: float


def compile_program(directory: Path) -> Path:
    """The C program, built with the system compiler."""
    source, binary = directory / "stream.c", directory / "stream"
    source.write_text(SOURCE, encoding="utf-8")
    done = subprocess.run(["cc", "-O2", "-pthread", "-o", str(binary), str(source)], capture_output=True, text=True,
                          timeout=120, check=False)
    if done.returncode != 0:
        raise BandwidthError(f"cc failed: {done.stderr.strip()}")
    return binary


def parse(output: str) -> dict[str, list[float]]:
    """`copy 12.3` lines → {"copy": [...], "read": [...]}, each kernel's first repetition left out (a warm-up:
    it pays for page-table and TLB misses the others do not)."""
    found: dict[str, list[float]] = {"copy": [], "read": []}
    for line in output.splitlines():
        name, value = line.split()
        found[name].append(float(value))
    return {name: values[1:] for name, values in found.items()}


def measure(quota: Quota, threads: int) -> Bandwidth:
    """Both kernels with `threads` threads, inside `quota`."""
    with tempfile.TemporaryDirectory(prefix="gemma-stream-") as scratch:
        binary = compile_program(Path(scratch))
        process = subprocess.Popen([str(binary), str(threads), str(ARRAY_MIB), str(REPEATS + 1)], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        quota.join([process.pid])
        try:
            out, err = process.communicate("go\n", timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise BandwidthError(f"the bandwidth program ran longer than {TIMEOUT_SECONDS} s") from None
    if process.returncode != 0:
        raise BandwidthError(f"the bandwidth program failed ({process.returncode}): {err.strip()}")
    runs = parse(out)
    return Bandwidth(quota.cores, threads, quota.method, summarize(runs["copy"]), summarize(runs["read"]),
                     max(runs["copy"]), max(runs["read"]))
