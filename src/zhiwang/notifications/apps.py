from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "zhiwang.notifications"
    label = "notifications"
