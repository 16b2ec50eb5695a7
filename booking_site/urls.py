from django.contrib import admin
from django.urls import include, path

from scheduler.api import api

admin.site.site_header = "Booking administration"
admin.site.site_title = "Booking admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("v1/", api.urls),
    path("", include("scheduler.urls")),
]
