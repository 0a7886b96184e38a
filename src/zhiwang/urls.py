from django.contrib import admin
from django.urls import include, path

from zhiwang import views
from zhiwang.api import api

urlpatterns = [
    path("", views.home, name="home"),
    path("api/v1/", api.urls),
    path("accounts/", include("zhiwang.accounts.urls")),
    path("console/", include("zhiwang.grids.urls")),
    path("console/", include("zhiwang.cases.urls")),
    path("console/dashboard/", include("zhiwang.dashboard.urls")),
    path("console/registry/", include("zhiwang.registry.urls")),
    path("resident/", include("zhiwang.portal.urls")),
    path("field/", include("zhiwang.field.urls")),
    path("open311/v2/", include("zhiwang.open311.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
