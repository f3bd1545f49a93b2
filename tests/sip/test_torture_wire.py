"""Every RFC 4475 message sent to a running SipServer over UDP: the answer a peer gets back."""

from __future__ import annotations

from pathlib import Path

import pytest

from sipline.sip import MemoryBindingStore, SipServer, SipServerConfig, StaticCredentialSource
from tests.sip.peer import RawPeer
from tests.sip.test_torture import CORPUS, REJECTED

NO_ANSWER = {"scalarlg", "bigcode", "noreason", "unreason", "bcast"}  # responses: dropped, never answered
EXPECTED = {
    "badvers": 505,
    "unkscm": 416,
    "novelsc": 416,
    "bext01": 420,
    "unksm2": 400,  # To is not a SIP AOR
    **dict.fromkeys(["regaut01", "cparam01", "cparam02", "regescrt", "escnull", "dblreq", "regbadct"], 401),
    **dict.fromkeys(["esc01", "longreq", "mpart01", "inv2543", "invut", "sdp01", "baddate"], 405),
    "wsinv": 481,  # its To has a tag: an in-dialog request for a dialog that does not exist
    **dict.fromkeys(["intmeth", "esc02"], 501),
    **dict.fromkeys(["badbranch", "lwsdisp", "semiuri", "transports", "zeromf"], 200),
}


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.dat")), ids=lambda p: p.stem)
async def test_server_answer(path: Path) -> None:
    config = SipServerConfig(host="127.0.0.1", port=0)
    server = SipServer(config, StaticCredentialSource({}), MemoryBindingStore())
    await server.start()
    peer = await RawPeer(server.port).open()
    try:
        peer.send_raw(path.read_bytes())
        response = await peer.receive(0.3 if path.stem in NO_ANSWER else 2.0)
        if path.stem in NO_ANSWER:
            assert response is None
        else:
            expected = EXPECTED.get(path.stem, 400 if path.stem in REJECTED else None)
            assert response is not None and response.status == expected
        # the server is still healthy afterwards
        peer.send_raw(peer.build("OPTIONS", "ping", call_id=f"after-{path.stem}", cseq=1))
        ping = await peer.receive()
        assert ping is not None and ping.status == 200
    finally:
        await peer.close()
        await server.stop()
