from django.apps import AppConfig


class GridsConfig(AppConfig):
    name = "zhiwang.grids"
    label = "grids"
    verbose_name = "Grids"
