"""Public pages: the invitee's booking links first, so `bookings` never reads as a handle."""

from django.urls import path

from scheduler import views

urlpatterns = [
    path("bookings/<str:token>/", views.booking_page, name="booking-manage"),
    path("bookings/<str:token>/cancel/", views.cancel_page, name="booking-cancel"),
    path("bookings/<str:token>/reschedule/", views.reschedule_page, name="booking-reschedule"),
    path("bookings/<str:token>/invite.ics", views.booking_ics_download, name="booking-ics"),
    path("<slug:handle>/<slug:name>/", views.profile_page, name="profile-page"),
]
