"""The HTTP ingest API: scrapers publish raw articles with an API key instead of Redis credentials.

`newswire run ingest` serves it (also part of `run all`); see the README's "Publishing over HTTP".
"""
