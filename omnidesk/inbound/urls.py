from django.urls import path

from omnidesk.inbound.views import webhook

app_name = "inbound"
urlpatterns = [path("<str:public_id>/", webhook, name="webhook")]
