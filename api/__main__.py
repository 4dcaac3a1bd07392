"""`python -m api` runs the `assess` command line."""

from api.cli import main

main()
