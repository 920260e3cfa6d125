from django.urls import path

from omnidesk.dashboard import triage_views, views

app_name = "dashboard"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("counts/", views.counts, name="counts"),
    path("tickets/<int:number>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:number>/reply/", views.reply, name="reply"),
    path("tickets/<int:number>/template/", views.template_reply, name="template-reply"),
    path("tickets/<int:number>/note/", views.note, name="note"),
    path("tickets/<int:number>/assign/", views.assign, name="assign"),
    path("tickets/<int:number>/status/", views.set_status, name="status"),
    path("tickets/<int:number>/priority/", triage_views.set_priority, name="priority"),
    path("tickets/<int:number>/tags/", triage_views.set_tags, name="tags"),
    path("tickets/<int:number>/team/", triage_views.set_team, name="team"),
    path("bulk/", triage_views.bulk, name="bulk"),
    path("messages/<int:message_id>/resend/", views.resend, name="resend"),
    path("attachments/<uuid:uuid>/", views.attachment, name="attachment"),
    path("municipality/", views.choose_municipality, name="choose-municipality"),
]
