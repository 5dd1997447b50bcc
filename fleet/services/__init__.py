"""Write services of the fleet app: every change to a node goes through here."""
