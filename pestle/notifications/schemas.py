from pydantic import BaseModel, ConfigDict


class EventDescriptor(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "example": {
                "name": "Order Created",
                "description": "Triggered when an order is created",
                "event_code": "order.created",
            }
        },
    )

    name: str
    description: str
    event_code: str
