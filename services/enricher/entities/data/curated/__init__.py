"""Curated sources merged into kb.json by build_kb.py; a package so that installers ship it."""
