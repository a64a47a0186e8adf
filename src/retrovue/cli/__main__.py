"""`python -m retrovue.cli …` is `retrovue …` (for subprocesses that must use this interpreter)."""

from retrovue.cli import main

main()
