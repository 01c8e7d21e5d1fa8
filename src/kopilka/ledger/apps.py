from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "kopilka.ledger"
    label = "ledger"
