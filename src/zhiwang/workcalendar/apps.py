from django.apps import AppConfig


class WorkcalendarConfig(AppConfig):
    name = "zhiwang.workcalendar"
    label = "workcalendar"
