"""Package data of the entity linker (kb.json, lexicon.json); a package so that installers ship it."""
