"""The /api/v1/ router; each app registers its viewsets here."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from config.tokens import ObtainTokenView, TokenListView, TokenRevokeView
from fleet.api.views import CardSampleViewSet, CardViewSet, NodeViewSet
from fleet.booking.api import views as booking
from jobs.api import images, policy, serve
from jobs.api.jobs import DeploymentViewSet, JobViewSet
from jobs.catalog.api import catalog, recipes

router = DefaultRouter()
router.register("nodes", NodeViewSet, basename="node")
router.register("cards", CardViewSet, basename="card")
router.register("card-samples", CardSampleViewSet, basename="card-sample")
router.register("bookings", booking.BookingViewSet, basename="booking")
router.register("availability", booking.AvailabilityViewSet, basename="availability")
router.register("timeline", booking.TimelineViewSet, basename="timeline")
router.register("cordons", booking.CordonViewSet, basename="cordon")
router.register("audit", booking.AuditEntryViewSet, basename="audit")
router.register("notifications", booking.NotificationViewSet, basename="notification")
router.register("teams", booking.TeamViewSet, basename="team")
router.register("recipes", recipes.RecipeViewSet, basename="recipe")
router.register("recipe-versions", recipes.RecipeVersionViewSet, basename="recipe-version")
router.register("catalog/models", catalog.CatalogModelsViewSet, basename="catalog-model")
router.register("catalog/versions", catalog.VllmVersionViewSet, basename="catalog-version")
router.register(
    "catalog/card-requirements", catalog.CardRequirementViewSet, basename="card-requirement"
)
router.register("catalog/model-support", catalog.ModelSupportViewSet, basename="model-support")
router.register("catalog/aliases", catalog.ModelAliasViewSet, basename="model-alias")
router.register("catalog/base-images", catalog.BaseImageViewSet, basename="base-image")
router.register("catalog/software", catalog.SoftwareStackViewSet, basename="software-stack")
router.register("catalog/ascendspeed", catalog.AscendSpeedViewSet, basename="ascendspeed")
router.register("catalog/llamafactory", catalog.LlamaFactoryViewSet, basename="llamafactory")

router.register("jobs", JobViewSet, basename="job")
router.register("deployments", DeploymentViewSet, basename="deployment")
router.register("serve", serve.ServeViewSet, basename="serve")
router.register("builds", images.BuildViewSet, basename="build")
router.register("images", images.ImageViewSet, basename="image")
router.register("build-templates", images.BuildTemplateViewSet, basename="build-template")
router.register("allowed-images", policy.AllowedImagePrefixViewSet, basename="allowed-image")
router.register("policy-exceptions", policy.PolicyExceptionViewSet, basename="policy-exception")

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("auth/tokens/", TokenListView.as_view(), name="api-tokens"),
    path("auth/tokens/<str:ident>/", TokenRevokeView.as_view(), name="api-token-revoke"),
    *router.urls,
]
