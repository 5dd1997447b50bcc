"""Job, deploy, deployment and image page URLs (names differ from the API's job-*/deployment-*/
image-*/build-*)."""

from django.urls import path

from jobs.pages import views_images, views_jobs, views_serve

urlpatterns = [
    path("jobs/", views_jobs.job_list, name="jobs"),
    path("jobs/<int:pk>/", views_jobs.job_detail, name="job-page"),
    path("jobs/<int:pk>/live/", views_jobs.job_live, name="job-page-live"),
    path("jobs/<int:pk>/cancel/", views_jobs.job_cancel, name="job-page-cancel"),
    path("jobs/<int:pk>/retry/", views_jobs.job_retry, name="job-page-retry"),
    path("serve/", views_serve.serve, name="serve"),
    path("deploy/", views_jobs.deploy, name="deploy"),
    path("deploy/preview/", views_jobs.deploy_preview, name="deploy-preview"),
    path("deployments/", views_jobs.deployment_list, name="deployments"),
    path(
        "deployments/<int:pk>/<slug:action>/",
        views_jobs.deployment_action,
        name="deployment-page-action",
    ),
    path("images/", views_images.image_list, name="images"),
    path("images/build/", views_images.image_build, name="image-build-page"),
    path("images/refresh/<int:node_pk>/", views_images.image_refresh, name="image-refresh-page"),
    path("images/<int:pk>/remove/", views_images.image_remove, name="image-remove-page"),
]
