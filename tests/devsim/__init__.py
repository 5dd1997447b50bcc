"""Tests of the DevServer simulator."""
