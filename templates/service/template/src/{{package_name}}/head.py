"""HEAD wherever GET is served (RFC 9110 section 9.3.2): the GET's status and headers, no body.

FastAPI routes answer only the methods they declare; this pure ASGI middleware runs a HEAD
request as the GET it stands for and drops the body, so caches, link checkers and load
balancers that probe with HEAD get the same answer as GET, and ``Allow`` lists HEAD.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b""})
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)
