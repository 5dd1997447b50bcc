"""Image page URLs (names differ from the API's image-*/build-*)."""

from django.urls import path

from frontend import views_images

urlpatterns = [
    path("images/", views_images.image_list, name="images"),
    path("images/build/", views_images.image_build, name="image-build-page"),
    path("images/refresh/<int:node_pk>/", views_images.image_refresh, name="image-refresh-page"),
    path("images/<int:pk>/remove/", views_images.image_remove, name="image-remove-page"),
]
