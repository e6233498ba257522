"""What the tests and the benchmarks share, kept out of the installed package: the policy checks
(checkov and yamllint, the test extra), the nginx harness and fake llama-server the proxy tests and
bench run, the proxy memory probe, the HTTP client that drives the proxy (proxy_client.py), and how
llama-server runs outside Kubernetes with the rendered args (llama.py) from the pinned build (pins.py)."""
