"""Recipe and catalog page URLs."""

from django.urls import path

from jobs.catalog.pages import views_catalog, views_recipes

urlpatterns = [
    path("recipes/", views_recipes.recipe_list, name="recipe-list"),
    path("recipes/new/", views_recipes.recipe_create, name="recipe-create"),
    path("recipes/preview/", views_recipes.recipe_preview, name="recipe-preview"),
    path("recipes/<int:pk>/", views_recipes.recipe_detail, name="recipe-detail"),
    path("recipes/<int:pk>/edit/", views_recipes.recipe_edit, name="recipe-edit"),
    path("recipes/<int:pk>/archive/", views_recipes.recipe_archive, name="recipe-archive"),
    path("catalog/", views_catalog.catalog_browser, name="catalog"),
    path("catalog/edit/", views_catalog.catalog_editor, name="catalog-edit"),
    path("catalog/edit/<str:table>/new/", views_catalog.catalog_row, name="catalog-row-new"),
    path("catalog/edit/<str:table>/<int:pk>/", views_catalog.catalog_row, name="catalog-row"),
    path(
        "catalog/edit/<str:table>/<int:pk>/delete/",
        views_catalog.catalog_row_delete,
        name="catalog-row-delete",
    ),
]
