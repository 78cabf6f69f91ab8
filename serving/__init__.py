"""The BentoML service and the batch scoring job. Reads models from the registry; never imports training."""
