"""End-to-end on ARM64: the pinned llama-server cross-built for the Ampere A1 nodes, run under QEMU."""
