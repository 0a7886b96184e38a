from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "zhiwang.registry"
    label = "registry"
    verbose_name = "Base data (二标四实)"

    def ready(self) -> None:
        from zhiwang.registry import checks  # noqa: F401  (registers the key check)
