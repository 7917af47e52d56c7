from fastapi import APIRouter, Request, Response

from pestle import models
from pestle.auth.dependencies import AnyUser
from pestle.db import SessionDep
from pestle.exceptions import error_response
from pestle.kit.pagination import PAGINATION_HEADERS, PageParams, serve_page
from pestle.users.schemas import User
from pestle.users.service import UserNotFound, user_service

router = APIRouter(prefix="/users", tags=["Users"])


@router.get(
    "",
    response_model=list[User],
    responses={200: {"headers": PAGINATION_HEADERS}},
)
async def list_users(
    request: Request, response: Response, page: PageParams, session: SessionDep, principal: AnyUser
) -> list[models.User]:
    """List the users of the caller's customer (pharmacy staff see every user)."""
    found = await user_service.page(session, principal.customer_id, page)
    return serve_page(found, request, response)


@router.get("/{user_id}", response_model=User, responses={404: error_response(UserNotFound)})
async def get_user(user_id: str, session: SessionDep, principal: AnyUser) -> models.User:
    """Get one user of the caller's customer."""
    return await user_service.get(session, principal.customer_id, user_id)
