"""Go module system rules, reimplemented for Depot (stdlib only).

paths     module/import/file path checks and the proxy case-encoding
versions  semver, pseudo-versions, major-version checks, @latest
modfile   go.mod facts via the pinned go binary (``go mod edit -json``)
h1        the go.sum / checksum-database "h1:" hashes
gosum     go.sum lines, read strictly
zipcheck  module zip validation (golang.org/x/mod/zip rules and limits)
errors    the exception hierarchy (all subclass GoModError, a ValueError)
"""
