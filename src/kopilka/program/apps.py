from django.apps import AppConfig


class ProgramConfig(AppConfig):
    name = "kopilka.program"
    label = "program"
