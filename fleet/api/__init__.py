"""REST API of the fleet app."""
