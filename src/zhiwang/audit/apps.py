from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "zhiwang.audit"
    label = "audit"
    verbose_name = "Audit log"
