"""Back-testing: models over the full history, partitioned by time."""
