from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "zhiwang.common"
    label = "common"
    verbose_name = "Common"
