from django.contrib import admin
from django.urls import include, path

from gateway import routing

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("subscriptions.urls")),
    path(routing.GATEWAY_ROOT, include("gateway.urls")),
    path("ml/", include("mlservice.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("console/", include("console.urls")),
    path("", include("apis.urls")),
]
