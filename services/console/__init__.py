"""`newswire console`: a web page to watch the pipeline, inspect published articles and fix dead letters."""
