"""The enrichment stage: language, topics, entities, quotes and amounts."""
