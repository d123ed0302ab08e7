"""The chaos suite: `make chaos` (`python -m bench.chaos`); see bench/README.md."""
