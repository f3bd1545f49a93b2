"""The relay on uvloop (what `sipline serve` runs): audio, latching, transcoding, no descriptor leak."""

from __future__ import annotations

from tests.media.test_bad_media import (
    test_a_strangers_rtp_on_a_calls_port_is_never_forwarded,
    test_garbage_datagrams_are_dropped_and_counted,
)
from tests.media.test_batching import batching, test_a_batching_relay_relays_every_packet_in_order
from tests.media.test_ports import (
    test_a_call_allocated_as_another_is_released_keeps_its_sockets,
    test_tens_of_thousands_of_calls_leak_no_port_and_no_descriptor,
)
from tests.media.test_relay import (
    test_a_phone_behind_nat_gets_audio_both_ways,
    test_each_peer_sees_only_the_platforms_address,
    test_pcmu_and_pcma_legs_are_transcoded,
)
from tests.media.test_ringback_and_timeout import (
    test_ringback_frames_arrive_then_stop_when_early_media_starts,
)

__all__ = [
    "batching",
    "test_a_batching_relay_relays_every_packet_in_order",
    "test_a_call_allocated_as_another_is_released_keeps_its_sockets",
    "test_a_phone_behind_nat_gets_audio_both_ways",
    "test_a_strangers_rtp_on_a_calls_port_is_never_forwarded",
    "test_each_peer_sees_only_the_platforms_address",
    "test_garbage_datagrams_are_dropped_and_counted",
    "test_pcmu_and_pcma_legs_are_transcoded",
    "test_ringback_frames_arrive_then_stop_when_early_media_starts",
    "test_tens_of_thousands_of_calls_leak_no_port_and_no_descriptor",
]
