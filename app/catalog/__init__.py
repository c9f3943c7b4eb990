"""What the portal's pages show, read from the database as plain dataclasses.

Kept apart from the routes so the JSON API can return the same facts: each
function takes a SQLAlchemy session and returns frozen dataclasses, never rows.
"""
