from django.apps import AppConfig


class HotlineConfig(AppConfig):
    name = "zhiwang.hotline"
    label = "hotline"
    verbose_name = "12345 hotline exchange"
