from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "zhiwang.dashboard"
    label = "dashboard"
    verbose_name = "Command-center dashboard"
