"""The job engine's pages: jobs, deploy, deployments, serve a model, images."""
