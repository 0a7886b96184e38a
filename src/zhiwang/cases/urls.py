from django.urls import URLPattern, path

from zhiwang.cases import views

app_name = "cases"
urlpatterns: list[URLPattern] = [
    path("cases/", views.queue_view, name="queue"),
    path("cases/<int:case_id>/", views.case_view, name="case"),
    path("cases/<int:case_id>/photos/<int:photo_id>/", views.photo_view, name="photo"),
    path("cases/<int:case_id>/<slug:action>/", views.action_view, name="act"),
]
