"""`python -m entrypoints` runs the `assess` command line."""

from entrypoints.cli import main

main()
