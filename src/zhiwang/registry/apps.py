from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "zhiwang.registry"
    label = "registry"
    verbose_name = "Base data (二标四实)"
