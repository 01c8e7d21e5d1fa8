from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "kopilka.demo"
    label = "demo"
