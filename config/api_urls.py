"""The /api/v1/ router; each app registers its viewsets here."""

from django.urls import path
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from fleet.api.views import CardSampleViewSet, CardViewSet, NodeViewSet

router = DefaultRouter()
router.register("nodes", NodeViewSet, basename="node")
router.register("cards", CardViewSet, basename="card")
router.register("card-samples", CardSampleViewSet, basename="card-sample")

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    *router.urls,
]
