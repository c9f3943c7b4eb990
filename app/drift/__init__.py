"""The upstream drift alarm: look again at what the upstream serves for versions Depot
already publishes, and record, notify and show when it changed or vanished.

check.py compares one version (never touching the store), record.py writes the
outcome and says which findings are new, sweep.py picks versions and decides when a
sweep is due, status.py reads it all back for the pages and the API.
"""
