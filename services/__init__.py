"""newswire services: the stages, their shared runtime and the CLI."""
