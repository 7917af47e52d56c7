"""Links to the pharmacy's app in event payloads (`url`), built from PESTLE_APP_URL."""

from typing import Annotated

from fastapi import Depends, Request


def get_app_url(request: Request) -> str:
    app_url: str = request.app.state.settings.app_url
    return app_url.rstrip("/")


AppUrl = Annotated[str, Depends(get_app_url)]
