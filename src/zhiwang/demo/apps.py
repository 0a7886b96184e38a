from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "zhiwang.demo"
    label = "demo"
    verbose_name = "Demo city"
