from django.urls import path

from omnidesk.api import views

app_name = "api"
urlpatterns = [
    path("tickets/", views.TicketList.as_view(), name="tickets"),
    path("tickets/<int:number>/", views.TicketDetail.as_view(), name="ticket"),
    path("tickets/<int:number>/messages/", views.TicketMessages.as_view(), name="ticket-messages"),
]
