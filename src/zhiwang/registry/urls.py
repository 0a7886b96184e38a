from django.urls import URLPattern, path

from zhiwang.registry import views

app_name = "registry"
urlpatterns: list[URLPattern] = [
    path("", views.residents_view, name="residents"),
    path("persons/<int:person_id>/", views.person_view, name="person"),
    path("persons/<int:person_id>/reveal/", views.reveal_view, name="reveal"),
    path("communities/<int:grid_id>/residents/", views.community_view, name="community"),
    path("enterprise-grids/<int:grid_id>/workforce/", views.workforce_view, name="workforce"),
    path("declarations/", views.declarations_view, name="declarations"),
    path("declarations/<int:declaration_id>/<slug:decision>/", views.decide_view, name="decide"),
    path("units/", views.units_view, name="units"),
    path("facilities/", views.facilities_view, name="facilities"),
    path("imports/", views.imports_view, name="imports"),
    path("imports/<int:job_id>/", views.import_view, name="import"),
    path("imports/<int:job_id>/report.csv", views.import_report_view, name="import_report"),
]
