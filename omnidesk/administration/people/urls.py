"""/settings/people/: members, roles, invitations and teams of the admin's own municipality."""
from django.urls import path

from omnidesk.administration.people import views

urlpatterns = [
    path("", views.users, name="users"),
    path("<int:membership_id>/role/", views.user_role, name="user-role"),
    path("<int:membership_id>/remove/", views.user_remove, name="user-remove"),
    path("invite/", views.invite, name="invite"),
    path("invitations/<int:invitation_id>/resend/", views.invitation_resend, name="invitation-resend"),
    path("invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation-revoke"),
    path("teams/", views.teams, name="teams"),
    path("teams/add/", views.team_add, name="team-add"),
    path("teams/<int:team_id>/", views.team_edit, name="team-edit"),
    path("teams/<int:team_id>/delete/", views.team_delete, name="team-delete"),
]
