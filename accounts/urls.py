from django.http import HttpResponse
from django.urls import path


def _todo(request):  # placeholder until the accounts work lands
    return HttpResponse("")


urlpatterns = [
    path("signup/", _todo, name="accounts-signup"),
    path("login/", _todo, name="accounts-login"),
    path("logout/", _todo, name="accounts-logout"),
    path("profile/", _todo, name="accounts-profile"),
]
