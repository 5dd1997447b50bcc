"""Catalog, recipes, images, deployments and the job engine."""
