"""The publishing stage: revisions, near-duplicates and the CloudEvents entry."""
