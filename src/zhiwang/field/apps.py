from django.apps import AppConfig


class FieldConfig(AppConfig):
    name = "zhiwang.field"
    label = "field"
    verbose_name = "Grid worker app"
