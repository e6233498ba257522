"""Benchmarks of gemma-gitops: the generator's commands as whole processes, and the auth proxy in real nginx.

They measure and report; nothing here asserts a time. Run `python -m bench` (or `make bench`).
"""
