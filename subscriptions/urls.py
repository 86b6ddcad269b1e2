from django.urls import path

from subscriptions import views

# Under /accounts/: a developer manages subscriptions and keys from the profile.
# The URL names keep their first ("gateway-") spelling, which templates use.
urlpatterns = [
    path("subscriptions/new/<slug:slug>/", views.subscribe, name="gateway-subscribe"),
    path("subscriptions/<int:pk>/keys/<str:which>/", views.show_key, name="gateway-show-key"),
    path(
        "subscriptions/<int:pk>/keys/<str:which>/regenerate/",
        views.regenerate_key,
        name="gateway-regenerate-key",
    ),
    path("subscriptions/<int:pk>/cancel/", views.cancel_subscription, name="gateway-cancel-subscription"),
]
