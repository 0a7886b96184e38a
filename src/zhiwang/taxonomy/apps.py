from django.apps import AppConfig


class TaxonomyConfig(AppConfig):
    name = "zhiwang.taxonomy"
    label = "taxonomy"
