"""`manage.py` commands of the fleet app."""
