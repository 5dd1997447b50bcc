"""Browser pages and front-end assets."""
