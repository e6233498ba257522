"""The diff command's stages: fields (one resource) → resources (one environment) → gitref (the base) → report."""
