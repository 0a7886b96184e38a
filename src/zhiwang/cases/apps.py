from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "zhiwang.cases"
    label = "cases"
