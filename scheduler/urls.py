"""Public pages: the invitee's booking links first, so `bookings` never reads as a handle."""

from django.urls import path

from scheduler import feeds, views

urlpatterns = [
    path("bookings/<str:token>/", views.booking_page, name="booking-manage"),
    path("bookings/<str:token>/cancel/", views.cancel_page, name="booking-cancel"),
    path("bookings/<str:token>/reschedule/", views.reschedule_page, name="booking-reschedule"),
    path("bookings/<str:token>/invite.ics", views.booking_ics_download, name="booking-ics"),
    path("bookings/<str:token>/verify/", views.verify_page, name="booking-verify"),
    # An account's calendar feeds (SPEC §9), opened by their `?key=`.
    path("<slug:handle>/bookings.ics", feeds.bookings_ics, name="feed-bookings"),
    path("<slug:handle>/freebusy.ics", feeds.freebusy_ics, name="feed-freebusy"),
    path("<slug:handle>/", views.host_page, name="host-page"),
    path("<slug:handle>/<slug:name>/", views.profile_page, name="profile-page"),
    path("", views.index, name="home"),
]
