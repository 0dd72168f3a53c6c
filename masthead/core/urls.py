from django.urls import path

from . import brand, health, icons

app_name = "core"

urlpatterns = [
    path("brand.css", brand.brand_stylesheet, name="brand_stylesheet"),
    path("health/", health.health, name="health"),
    path("favicon.ico", icons.favicon, name="favicon"),
    path("apple-touch-icon.png", icons.touch_icon, name="touch_icon"),
    path("icon-512.png", icons.app_icon, name="app_icon"),
]
