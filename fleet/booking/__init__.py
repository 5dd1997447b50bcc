"""Card booking: services, allocation glue, quotas, availability, lifecycle and hooks."""
