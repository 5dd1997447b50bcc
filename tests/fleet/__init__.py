"""Tests of the fleet app."""
