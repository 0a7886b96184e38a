from django.apps import AppConfig


class HotlineConfig(AppConfig):
    name = "zhiwang.hotline"
    label = "hotline"
    verbose_name = "12345 hotline exchange"

    def ready(self) -> None:
        from zhiwang.hotline import receivers

        receivers.connect()
