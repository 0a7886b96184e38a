from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "zhiwang.portal"
    label = "portal"
    verbose_name = "Resident portal"
