"""/settings/channels/ (names in the "settings" namespace)."""
from django.urls import URLPattern, path

from omnidesk.administration.channels import views

urlpatterns: list[URLPattern] = [
    path("", views.channel_list, name="channels"),
    path("add/", views.channel_add, name="channel-add"),
    path("add/<str:plugin_key>/", views.channel_add_config, name="channel-add-config"),
    path("<int:pk>/", views.channel_edit, name="channel-edit"),
    path("<int:pk>/test/", views.channel_test, name="channel-test"),
    path("<int:pk>/toggle/", views.channel_toggle, name="channel-toggle"),
    path("<int:pk>/schedule/", views.channel_schedule, name="channel-schedule"),
    path("<int:pk>/schedule/<int:schedule_id>/cancel/", views.channel_schedule_cancel_view,
         name="channel-schedule-cancel"),
    path("<int:pk>/remove/", views.channel_remove, name="channel-remove"),
]
