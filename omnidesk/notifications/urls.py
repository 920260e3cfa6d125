from django.urls import path

from omnidesk.notifications import views

app_name = "notifications"
urlpatterns = [
    path("", views.notification_list, name="list"),
    path("read/", views.mark_read, name="read"),
    path("follow/<int:number>/", views.follow, name="follow"),
]
