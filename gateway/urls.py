from django.urls import path

from gateway import views

# Everything under /gateway/ is a call to a registered API.
urlpatterns = [
    path("", views.gateway, name="gateway-root"),
    path("<path:rest>", views.gateway, name="gateway-proxy"),
]
