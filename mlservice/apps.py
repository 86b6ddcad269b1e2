from django.apps import AppConfig


class MlserviceConfig(AppConfig):
    name = "mlservice"
