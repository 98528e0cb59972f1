"""`python -m backbone` is the `backbone` command."""

from backbone.cli import main

main()
