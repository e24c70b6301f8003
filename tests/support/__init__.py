"""Real services for tests: a private redis-server and real Celery worker processes."""
