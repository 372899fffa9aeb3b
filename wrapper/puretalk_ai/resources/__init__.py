"""API resources, one module per resource group (``client.integrations`` ...)."""
