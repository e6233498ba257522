"""Offline Kubernetes validation: schemas per Kubernetes version, CRD schemas, cross-resource rules.

Data flows through one module per noun, as in kubeconform (yannh/kubeconform, pkg/):
`resource` (manifest files read with the strict loader of generator/yamlio.py, each document a
Manifest with its identity) → `location` / `registry` (schema lookup) → `validator` (one resource
against its schemas) → `rules` (checks across resources) → `report` → `output`.
`check` wires them: `validate_paths` for files, `validate_manifests` for a render held in memory
(what `gemma-gitops check` validates); generator/cli/validate.py is the click layer.

Import what you use from its module (`generator.kube.check`, `.config`, `.output`): this file
imports nothing, so reading `kube.config` for an option's help text loads no validator.
"""
