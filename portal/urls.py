from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("subscriptions.urls")),
    path("gateway/", include("gateway.urls")),
    path("ml/", include("mlservice.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("console/", include("console.urls")),
    path("", include("apis.urls")),
]
