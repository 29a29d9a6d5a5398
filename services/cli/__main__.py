"""`python -m services.cli` runs the newswire command."""

from services.cli.main import main

main()
