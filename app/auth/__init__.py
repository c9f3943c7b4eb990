"""Who may do what: tokens (tokens.py), the role each route needs (roles.py) and the
check every request goes through (gate.py). docs/security.md says how it fits."""
