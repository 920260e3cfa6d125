"""/invitations/: public, reached from an invitation mail."""
from django.urls import path

from omnidesk.administration.people import invitation_views

app_name = "invitations"
urlpatterns = [
    path("<str:token>/", invitation_views.accept, name="accept"),
]
