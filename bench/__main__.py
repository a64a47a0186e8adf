"""`python -m bench`: the ingest benchmark (see bench/runner.py and docs/benchmarks.md)."""

from bench.runner import main

if __name__ == "__main__":
    main()
