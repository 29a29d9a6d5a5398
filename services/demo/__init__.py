"""The sample article `newswire demo` publishes (an Arabic news article as a scraper sent it, from Al-Araby)."""
