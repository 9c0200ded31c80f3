"""The planners' editor in the browser (``/edit``): sign-in, pages and their session cookie."""
