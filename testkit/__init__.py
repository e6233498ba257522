"""What the tests and the benchmarks share, kept out of the installed package: it needs the test extra."""
