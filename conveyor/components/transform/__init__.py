"""Transform on tensorflow-transform (model issue)."""
