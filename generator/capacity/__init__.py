"""Capacity planning: the model catalog, the memory budget, the startup window and cross-field guards.

Modules in the order data flows: quantity (Kubernetes quantities) → catalog (model geometry) →
budget (memory prediction) → startup (probe window) → guards (errors and warnings) → report
(table, bar, JSON) → command (click). `gguf_header` reads a geometry from a GGUF file.
"""
