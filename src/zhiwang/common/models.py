from __future__ import annotations

from typing import Any

from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class CityKeyed(models.Model):
    """A row of a table distributed by city (`zhiwang.common.distribution`): saving and reloading
    an instance name its city beside its primary key, so each statement can go to one node."""

    city_id = models.IntegerField()

    class Meta:
        abstract = True

    def _do_update(
        self,
        base_qs: models.QuerySet[Any],
        using: Any,
        pk_val: Any,
        values: Any,
        update_fields: Any,
        forced_update: bool,
    ) -> bool:
        return bool(
            super()._do_update(
                base_qs.filter(city_id=self.city_id), using, pk_val, values, update_fields, forced_update
            )
        )

    def refresh_from_db(
        self, using: str | None = None, fields: Any = None, from_queryset: Any = None
    ) -> None:
        if "city_id" not in self.get_deferred_fields():
            if from_queryset is None:
                from_queryset = type(self)._base_manager.db_manager(using, hints={"instance": self})
            from_queryset = from_queryset.filter(city_id=self.city_id)
        super().refresh_from_db(using, fields, from_queryset)
