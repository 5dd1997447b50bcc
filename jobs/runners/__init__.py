"""Runners: the code that does one kind of job on a node."""
