"""Booking services: each module is one area (bookings, lifecycle, cordons, quotas, teams,
notifications, audit); pages and the API call them, they call the models and fleet."""
