"""`python -m newswire.cli` runs the newswire command."""

from newswire.cli.main import main

main()
