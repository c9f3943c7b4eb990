"""The service layer: what Depot does when someone asks (request a module, check one
against its upstream), called alike by the JSON API, the portal's forms, the GOPROXY's
misses and the CLI. Each raises the errors of app/errors, which every caller maps to
its own answer (a JSON error, a page, an exit status)."""
