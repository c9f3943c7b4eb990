"""The ingest pipeline: capture, build lists, the license gate, validation, and the
stages that run them (docs/pipeline.md)."""
