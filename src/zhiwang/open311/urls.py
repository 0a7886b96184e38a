"""The GeoReport v2 URLs: every resource ends in .json or .xml."""

from django.urls import URLPattern, path, register_converter

from zhiwang.open311 import views


class FormatConverter:
    regex = "json|xml"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class SegmentConverter:
    """One path segment without a dot (a code, an id or a token before its extension)."""

    regex = "[^/.]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(FormatConverter, "fmt")
register_converter(SegmentConverter, "segment")

app_name = "open311"
urlpatterns: list[URLPattern] = [
    path("discovery.<fmt:fmt>", views.discovery, name="discovery"),
    path("services.<fmt:fmt>", views.service_list, name="services"),
    path("services/<segment:code>.<fmt:fmt>", views.service_definition, name="service"),
    path("requests.<fmt:fmt>", views.requests, name="requests"),
    path("requests/<segment:number>.<fmt:fmt>", views.request_detail, name="request"),
    path("tokens/<segment:token>.<fmt:fmt>", views.token_detail, name="token"),
    path("servicerequestupdates.<fmt:fmt>", views.updates, name="updates"),
    path("media/<segment:token>", views.media, name="media"),
    path("<path:rest>", views.not_found, name="not_found"),
]
