"""The serving benchmark (`make bench-serving`): the rendered llama-server and proxy under the pod's CPU limit."""
