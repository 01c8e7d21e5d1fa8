from django.apps import AppConfig


class PosConfig(AppConfig):
    name = "kopilka.pos"
    label = "pos"
