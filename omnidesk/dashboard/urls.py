from django.urls import path

from omnidesk.dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("tickets/<int:number>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:number>/reply/", views.reply, name="reply"),
    path("tickets/<int:number>/template/", views.template_reply, name="template-reply"),
    path("tickets/<int:number>/note/", views.note, name="note"),
    path("tickets/<int:number>/assign/", views.assign, name="assign"),
    path("tickets/<int:number>/status/", views.set_status, name="status"),
    path("messages/<int:message_id>/resend/", views.resend, name="resend"),
    path("attachments/<uuid:uuid>/", views.attachment, name="attachment"),
    path("municipality/", views.choose_municipality, name="choose-municipality"),
]
