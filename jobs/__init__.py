"""Job functions: thin, taking ids and strings, each opening its own sessions.

They build their services from the environment once per worker process and
call app/ (ingest, store, search); nothing here creates the Flask app.
"""
