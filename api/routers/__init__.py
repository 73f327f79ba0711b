"""One APIRouter per resource: jobs, items (with images and the sheet), models, health."""
