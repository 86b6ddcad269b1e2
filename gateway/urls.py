from django.urls import path, register_converter

from gateway import views


class AnyPath:
    """Any rest of the path, newlines included: a %0A must reach the gateway
    (for its JSON 404), not fall through to Django's HTML one."""

    regex = "(?s:.+)"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(AnyPath, "anypath")

# Everything under /gateway/ is a call to a registered API.
urlpatterns = [
    path("", views.gateway, name="gateway-root"),
    path("<anypath:rest>", views.gateway, name="gateway-proxy"),
]
