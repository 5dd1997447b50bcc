"""Booking page URLs (included under /bookings/)."""

from django.urls import path

from fleet.booking.pages import views
from fleet.booking.pages import views_admin as admin_views

urlpatterns = [
    path("", views.my_bookings, name="booking-mine"),
    path("timeline/", views.timeline_index, name="booking-timeline-index"),
    path("timeline/<int:pk>/", views.timeline, name="booking-timeline"),
    path("find/", views.find, name="booking-find"),
    path("<int:pk>/cancel/", views.cancel, name="booking-cancel"),
    path("<int:pk>/extend/", views.extend, name="booking-extend"),
    path("<int:pk>/move/", views.move, name="booking-move"),
    path("notifications/read/", views.mark_read, name="booking-notifications-read"),
    path("time-zone/", views.set_zone, name="booking-time-zone"),
    path("teams/<int:pk>/", admin_views.team_settings, name="booking-team-settings"),
    path("audit/", admin_views.audit_log, name="booking-audit"),
    path("cordons/", admin_views.cordons, name="booking-cordons"),
    path("cordons/<int:pk>/release/", admin_views.uncordon, name="booking-uncordon"),
]
