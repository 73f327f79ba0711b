"""/v1/models: the model versions a tenant may ask for (the shared ones and its own fine-tunes)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep, TenantDep
from api.schemas import ErrorBody, ModelsPublic
from api.views import model_public
from store.catalog import list_models

router = APIRouter(prefix="/v1/models", tags=["models"],
                   responses={code: {"model": ErrorBody} for code in (401, 503)})


@router.get("", response_model=ModelsPublic)
def read_models(tenant: TenantDep, session: SessionDep) -> ModelsPublic:
    """Every visible version with its metrics and parent, oldest first. 'default' always works."""
    return ModelsPublic(models=[model_public(m) for m in list_models(session, tenant.id)])
