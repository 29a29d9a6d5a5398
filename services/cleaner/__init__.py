"""The cleaning stage: raw page or scraped text -> the article itself plus its metadata."""
