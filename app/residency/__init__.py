"""Where the product's data lives: sites and the residency policy, blob stores for files, the database for rows."""
from __future__ import annotations


def init_app(app) -> None:
    """Blob stores from the settings, the policy's verdict for `atrium serve` and /readyz, the admin page."""
    from app.residency import blobs, policy, views
    from app.residency.compute import InMemoryRequest

    settings = app.config["ATRIUM"]
    blobs.configure(settings.data_dir, settings)
    app.extensions["residency"] = policy.check_settings(settings)
    if settings.residency.role == "compute":
        app.request_class = InMemoryRequest
    app.register_blueprint(views.bp)
