"""The newswire command line."""
