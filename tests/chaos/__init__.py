"""Chaos scenarios (issue 8): real servers on 127.0.0.1, an upstream the test breaks."""
