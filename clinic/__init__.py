"""Clinic bulk enrollment: CSV validation and import, per-clinic API keys, the HTTP API."""
