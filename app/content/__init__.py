"""What is inside a version's files, made fit to show a person: README rendered and
sanitized, go.mod highlighted, license texts, a one-paragraph synopsis.

Reads bytes through the artifact store only; knows nothing of routes or the database.
"""
