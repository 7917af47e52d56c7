"""Products and materials (three kinds, one table) and the formulas prescriptions are made from.

``formulas`` and ``inventory`` are literal segments under /products next to the three kinds,
so no route here takes the segment after /products as a parameter.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Path

from pestle.auth.dependencies import AnyUser
from pestle.db import SessionDep
from pestle.exceptions import PestleError, RequiredFieldCleared, Responses, error_response
from pestle.products.schemas import (
    Formula,
    FormulaCreate,
    FormulaView,
    Kind,
    NonPrescriptionProduct,
    NonPrescriptionProductCreate,
    NonPrescriptionProductUpdate,
    OrderMaterial,
    OrderMaterialCreate,
    OrderMaterialUpdate,
    PrescriptionProduct,
    PrescriptionProductCreate,
    PrescriptionProductUpdate,
    ProductRead,
    ProductsByKind,
    ProductView,
    ProductWrite,
)
from pestle.products.service import (
    DeaScheduleNotAllowed,
    DeaScheduleRequired,
    FormulaNotFound,
    FormulaNumberContended,
    GlobalMaterialReadOnly,
    IsGlobalFixed,
    OnlyStaffMakeGlobal,
    ProductExists,
    ProductNotFound,
    ProductsBelongToCustomers,
    UnknownFormula,
    formula_service,
    product_service,
)

router = APIRouter(prefix="/products", tags=["Products"])

ProductRef = Annotated[str, Path(description="The product's id (UUID).")]
FormulaRef = Annotated[
    str, Path(description="The formula's id (UUID) or its integer number.", examples=["1"])
]


def _invalid(*errors: type[PestleError]) -> dict[str, Any]:
    """A 422 entry: the request's own field errors (list form) or a rule across fields."""
    entry = error_response(*errors)
    return {**entry, "description": f"ValidationError, {entry['description']}"}


@router.get("", response_model=ProductsByKind)
async def list_all_products(
    session: SessionDep, principal: AnyUser
) -> dict[str, list[ProductView]]:
    """List every product and material the caller can order, grouped by kind."""
    return await product_service.grouped(session, principal)


@router.get("/formulas", response_model=list[Formula])
async def list_formulas(session: SessionDep, principal: AnyUser) -> list[FormulaView]:
    """List the formulas the caller can use: its own and the pharmacy-wide ones."""
    return await formula_service.listed(session, principal)


@router.post(
    "/formulas",
    status_code=201,
    response_model=Formula,
    responses={409: error_response(FormulaNumberContended)},
)
async def create_formula(
    body: FormulaCreate, session: SessionDep, principal: AnyUser
) -> FormulaView:
    """Create a formula (pharmacy-wide when pharmacy staff create it)."""
    return await formula_service.create(session, principal, body)


@router.get(
    "/formulas/{formula_id}",
    response_model=Formula,
    responses={404: error_response(FormulaNotFound)},
)
async def get_formula(
    formula_id: FormulaRef, session: SessionDep, principal: AnyUser
) -> FormulaView:
    """Get a formula by id or number."""
    return await formula_service.get(session, principal, formula_id)


_LABELS = {
    "prescription": "prescription product",
    "non_prescription": "non-prescription product",
    "order_material": "order material",
}
_CREATE_ERRORS: Responses = {
    403: error_response(ProductsBelongToCustomers, OnlyStaffMakeGlobal),
    409: error_response(ProductExists),
    422: _invalid(UnknownFormula, DeaScheduleRequired, DeaScheduleNotAllowed),
}
_UPDATE_ERRORS: Responses = {
    403: error_response(GlobalMaterialReadOnly, OnlyStaffMakeGlobal),
    404: error_response(ProductNotFound),
    409: error_response(ProductExists),
    422: _invalid(
        RequiredFieldCleared,
        UnknownFormula,
        DeaScheduleRequired,
        DeaScheduleNotAllowed,
        IsGlobalFixed,
    ),
}


def _add_kind_routes(
    kind: Kind, create: type[ProductWrite], update: type[ProductWrite], read: type[ProductRead]
) -> None:
    """One route set per kind, all served by the same service calls. Each kind is a literal
    path, so /products/formulas and /products/inventory are never taken for a kind."""
    label = _LABELS[kind]

    async def list_products(session: SessionDep, principal: AnyUser) -> list[ProductView]:
        return await product_service.listed(session, principal, kind)

    # The body types are variables: mypy cannot use them as annotations, FastAPI must.
    async def create_product(
        body: create,  # type: ignore[valid-type]
        session: SessionDep,
        principal: AnyUser,
    ) -> ProductView:
        return await product_service.create(session, principal, kind, body)

    async def get_product(
        product_id: ProductRef, session: SessionDep, principal: AnyUser
    ) -> ProductView:
        return await product_service.get(session, principal, kind, product_id)

    async def update_product(
        product_id: ProductRef,
        body: update,  # type: ignore[valid-type]
        session: SessionDep,
        principal: AnyUser,
    ) -> ProductView:
        return await product_service.update(session, principal, kind, product_id, body)

    path = f"/{kind}"
    router.add_api_route(
        path,
        list_products,
        methods=["GET"],
        response_model=list[read],  # type: ignore[valid-type]
        summary=f"List {label}s",
        name=f"list_{kind}",
    )
    router.add_api_route(
        path,
        create_product,
        methods=["POST"],
        status_code=201,
        response_model=read,
        responses=_CREATE_ERRORS,
        summary=f"Create a {label}",
        name=f"create_{kind}",
    )
    router.add_api_route(
        f"{path}/{{product_id}}",
        get_product,
        methods=["GET"],
        response_model=read,
        responses={404: error_response(ProductNotFound)},
        summary=f"Get a {label}",
        name=f"get_{kind}",
    )
    router.add_api_route(
        f"{path}/{{product_id}}",
        update_product,
        methods=["PUT"],
        response_model=read,
        responses=_UPDATE_ERRORS,
        summary=f"Update a {label}: only the fields sent change",
        name=f"update_{kind}",
    )


_add_kind_routes(
    "prescription", PrescriptionProductCreate, PrescriptionProductUpdate, PrescriptionProduct
)
_add_kind_routes(
    "non_prescription",
    NonPrescriptionProductCreate,
    NonPrescriptionProductUpdate,
    NonPrescriptionProduct,
)
_add_kind_routes("order_material", OrderMaterialCreate, OrderMaterialUpdate, OrderMaterial)
