from django.urls import path

from apis import views

urlpatterns = [
    path("", views.home, name="apis-home"),
    path("apis/", views.api_list, name="apis-list"),
    path("apis/<slug:api_slug>/", views.api_detail, name="apis-api"),
    *[
        path(f"apis/<slug:api_slug>/{filename}", views.api_export, {"filename": filename}, name=f"apis-export-{name}")
        for filename, name in [
            ("openapi.json", "openapi-json"),
            ("openapi.yaml", "openapi-yaml"),
            ("openapi-3.0.json", "openapi-30-json"),
            ("swagger.json", "swagger-json"),
        ]
    ],
    path("apis/<slug:api_slug>/operations/<slug:operation_slug>/", views.operation_detail, name="apis-operation"),
    path("products/", views.product_list, name="apis-products"),
    path("products/<slug:slug>/", views.product_detail, name="apis-product"),
]
