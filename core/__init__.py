"""Core: settings, database, Celery app, money, time, geo, ids, crypto and domain errors."""
