"""The outside world the services use: the database, caches, the process's Junction client, metrics."""
