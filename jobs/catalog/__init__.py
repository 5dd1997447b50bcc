"""The manuals' tables, recipes, planning and command rendering."""
