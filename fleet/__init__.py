"""Fleet inventory: nodes, NPU cards, teams and bookings."""
