from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "kopilka.members"
    label = "members"
