from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "zhiwang.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks for departments' systems"

    def ready(self) -> None:
        from zhiwang.webhooks import receivers

        receivers.connect()
