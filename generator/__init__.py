"""gemma-gitops: render a self-hosted llama.cpp API deployment into plain Kubernetes YAML."""
