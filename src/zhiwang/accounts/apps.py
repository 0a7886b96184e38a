from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "zhiwang.accounts"
    label = "accounts"
    verbose_name = "Accounts"
