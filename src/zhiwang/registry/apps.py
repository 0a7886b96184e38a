from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "zhiwang.registry"
    label = "registry"
    verbose_name = "Base data (二标四实)"

    def ready(self) -> None:
        from zhiwang.grids.signals import map_changed
        from zhiwang.registry import checks  # noqa: F401  (registers the key check)
        from zhiwang.registry.relocation import on_map_changed

        map_changed.connect(on_map_changed, dispatch_uid="registry.relocate")
