"""/settings/hours/: business hours, closing days, the out-of-hours reply and crisis mode."""
from django.urls import path

from omnidesk.administration.availability import views

urlpatterns = [
    path("", views.hours, name="hours"),
    path("channel/<int:account_id>/", views.account_hours, name="hours-account"),
    path("closing-days/", views.closing_day_create, name="closing-day-add"),
    path("closing-days/<int:closing_day_id>/delete/", views.closing_day_remove, name="closing-day-delete"),
    path("crisis/", views.crisis, name="crisis"),
]
