"""Package documentation of a module version, as the Go toolchain reads its source.

A small Go program (helper/main.go, standard library only) is built once by the pinned
toolchain and run on a version's stored zip; it prints every package's documentation
as go doc sees it for linux/amd64. ``docs`` jobs keep the result per package
(app/pkgdoc/kept.py), and the portal renders it (app/pkgdoc/html.py).
"""
