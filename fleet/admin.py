"""Django admin of the fleet app: none (nodes and cards are managed on the fleet pages and API)."""
