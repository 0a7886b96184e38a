from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "zhiwang.cases"
    label = "cases"

    def ready(self) -> None:
        from zhiwang.cases import rollups

        rollups.connect()
