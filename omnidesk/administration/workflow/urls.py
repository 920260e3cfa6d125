"""/settings/workflow/: routing rules, canned responses, assignment and retention."""
from django.urls import path

from omnidesk.administration.workflow import views

urlpatterns = [
    path("rules/", views.rules, name="rules"),
    path("rules/add/", views.rule_add, name="rule-add"),
    path("rules/<int:rule_id>/", views.rule_edit, name="rule-edit"),
    path("rules/<int:rule_id>/delete/", views.rule_remove, name="rule-delete"),
    path("rules/<int:rule_id>/move/", views.rule_reorder, name="rule-move"),
    path("responses/", views.responses, name="responses"),
    path("responses/add/", views.response_add, name="response-add"),
    path("responses/<int:response_id>/", views.response_edit, name="response-edit"),
    path("responses/<int:response_id>/delete/", views.response_remove, name="response-delete"),
    path("assignment/", views.general, name="general"),
    path("retention/", views.retention, name="retention"),
]
