"""Ready-made subscribers of the published stream: filters, ninjs rendering, a PostgreSQL sink, webhooks."""
