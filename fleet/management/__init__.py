"""Management commands of the fleet app."""
