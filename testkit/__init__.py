"""What the tests and the benchmarks share, kept out of the installed package: the policy checks
(checkov and yamllint, the test extra), the nginx harness and fake llama-server the proxy tests and
bench run, and the proxy memory probe."""
