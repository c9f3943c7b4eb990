"""Fetching from upstream: the toolchain runner, the fetch step and its errors."""
