from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "zhiwang.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from zhiwang.notifications import checks  # noqa: F401  (registers the settings check)
