from django.urls import path

from omnidesk.responses import views

app_name = "responses"
urlpatterns = [
    path("", views.search, name="search"),
]
