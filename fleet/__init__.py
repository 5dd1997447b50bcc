"""Fleet inventory: nodes and NPU cards (teams and bookings live in fleet.booking)."""
