"""``rt/lowcmd`` / ``rt/lowstate`` on CycloneDDS, as the G1 speaks them.

Needs ``pip install 'groot-sdk-g1-inspire[dds]'`` (``cyclonedds``; any version from 0.10.2).
The G1 runs CycloneDDS 0.10.x; the 11.x wheels (the ones that install on Python 3.11) talk to
it only with two things done here rather than through Unitree's SDK channel:

* the message types of :mod:`.idl`, whose 8-bit fields hash as 0.10 hashes them (with the
  SDK's types a 0.10 and an 11 endpoint never match: their type identifiers differ and the
  types are not assignable);
* on a loopback interface, discovery that also works with a 0.10 peer: 11 enables multicast
  on ``lo`` while 0.10 disables it there and looks for peers on the localhost unicast ports
  of participant indices, so neither sees the other's participant. We take a participant
  index (``auto``) and list localhost as a peer, and keep multicast for 11 peers.

One DDS domain and interface per process (the domain is process-wide in CycloneDDS).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from xml.sax.saxutils import quoteattr

from groot_sdk.errors import HardwareError, require
from groot_sdk_g1_inspire.dds.messages import LowCmd, LowState

log = logging.getLogger(__name__)

LOWCMD_TOPIC = "rt/lowcmd"
LOWSTATE_TOPIC = "rt/lowstate"
LOOPBACK = ("lo", "lo0")
_factory_lock = threading.Lock()
_factory: tuple[int, str] | None = None
_domain = None  # must stay referenced: a collected Domain takes its configuration with it
_participant = None


def domain_config(interface: str | None) -> str:
    """CycloneDDS configuration for one interface (``None``: let CycloneDDS choose)."""
    parts = ['<CycloneDDS><Domain Id="any">']
    if interface:
        name = quoteattr(interface)
        parts.append(f"<General><Interfaces><NetworkInterface name={name}/></Interfaces></General>")
    if interface in LOOPBACK:
        parts.append(
            "<Discovery><ParticipantIndex>auto</ParticipantIndex>"
            '<Peers><Peer address="127.0.0.1"/></Peers></Discovery>'
        )
    parts.append("</Domain></CycloneDDS>")
    return "".join(parts)


def init_factory(domain_id: int, interface: str | None):
    """The process's participant on ``domain_id`` / ``interface`` (made once; a second,
    different call is an error)."""
    global _factory, _domain, _participant
    dds_domain = require("cyclonedds.domain", "dds", "the G1 DDS interface")
    core = require("cyclonedds.core", "dds")
    with _factory_lock:
        wanted = (int(domain_id), interface or "")
        if _factory is None:
            try:
                _domain = dds_domain.Domain(int(domain_id), domain_config(interface))
            except core.DDSException:
                # made already in this process (e.g. by Unitree's SDK for MotionSwitcher):
                # join it with its configuration
                log.info("DDS domain %d exists in this process; joining it", domain_id)
            _participant = dds_domain.DomainParticipant(int(domain_id))
            _factory = wanted
        elif _factory != wanted:
            raise HardwareError(
                f"DDS is already initialised on domain {_factory[0]} / '{_factory[1]}' in this "
                f"process; cannot also use domain {wanted[0]} / '{wanted[1]}'"
            )
        return _participant


def to_sdk(cmd: LowCmd):
    """Our :class:`LowCmd` as a ``unitree_hg`` LowCmd_ message, crc included."""
    from groot_sdk_g1_inspire.dds import idl

    msg = idl.new_lowcmd()
    cmd.fill(msg)
    return msg


def from_sdk_cmd(msg) -> LowCmd:
    return LowCmd.from_msg(msg)


def state_to_sdk(state: LowState):
    from groot_sdk_g1_inspire.dds import idl

    msg = idl.new_lowstate()
    state.fill(msg)
    return msg


def from_sdk_state(msg) -> LowState:
    return LowState.from_msg(msg)


class Endpoint:
    """A publisher on one topic and a subscriber on the other (robot or controller side), with
    CycloneDDS's default QoS, as Unitree's SDK uses (reliable writer, best-effort reader, keep
    last 1)."""

    def __init__(
        self,
        publish: str,
        publish_type: str,
        subscribe: str,
        subscribe_type: str,
        on_message: Callable[[object], None],
        *,
        domain_id: int = 0,
        interface: str | None = None,
    ) -> None:
        self._args = (publish, publish_type, subscribe, subscribe_type)
        self._on_message = on_message
        self.domain_id, self.interface = domain_id, interface
        self._writer = self._reader = None
        self._type: type = object
        self._open = False

    def open(self) -> None:
        participant = init_factory(self.domain_id, self.interface)
        topic = require("cyclonedds.topic", "dds")
        pub, sub = require("cyclonedds.pub", "dds"), require("cyclonedds.sub", "dds")
        core = require("cyclonedds.core", "dds")
        from groot_sdk_g1_inspire.dds import idl

        publish, ptype, subscribe, stype = self._args
        self._type = getattr(idl, stype)
        self._open = True
        wtopic = topic.Topic(participant, publish, getattr(idl, ptype))
        self._writer = pub.DataWriter(participant, wtopic)
        rtopic = topic.Topic(participant, subscribe, self._type)
        listener = core.Listener(on_data_available=self._on_data)
        self._reader = sub.DataReader(participant, rtopic, listener=listener)

    def _on_data(self, reader) -> None:
        for msg in reader.take(N=16):
            # a vanished writer shows up as an InvalidSample (no data): skip those
            if self._open and isinstance(msg, self._type):
                self._on_message(msg)

    def write(self, msg) -> None:
        if self._writer is None:
            raise HardwareError("DDS endpoint is not open")
        self._writer.write(msg)

    def close(self) -> None:
        self._open = False
        for entity in (self._reader, self._writer):
            if entity is not None:
                try:
                    entity.__del__()  # cyclonedds deletes an entity there; idempotent
                except Exception:  # cyclonedds raises if the entity is already gone
                    log.debug("closing a DDS entity failed", exc_info=True)
        self._reader = self._writer = None


class G1LowLevel:
    """The controller side: publishes LowCmd, keeps the newest LowState."""

    def __init__(self, domain_id: int = 0, interface: str | None = None) -> None:
        self._lock = threading.Lock()
        self._state: LowState | None = None
        self._stamp = 0.0
        self.states_received = 0
        self._endpoint = Endpoint(
            LOWCMD_TOPIC, "LowCmd_", LOWSTATE_TOPIC, "LowState_", self._on_state,
            domain_id=domain_id, interface=interface,
        )  # fmt: skip

    def _on_state(self, msg) -> None:
        state = from_sdk_state(msg)
        with self._lock:
            self._state, self._stamp = state, time.monotonic()
            self.states_received += 1

    @property
    def domain_id(self) -> int:
        return self._endpoint.domain_id

    @property
    def interface(self) -> str | None:
        return self._endpoint.interface

    def open(self) -> None:
        self._endpoint.open()

    def close(self) -> None:
        self._endpoint.close()

    def latest(self) -> tuple[LowState | None, float]:
        with self._lock:
            return self._state, self._stamp

    def publish(self, cmd: LowCmd) -> None:
        self._endpoint.write(to_sdk(cmd))


def release_builtin_control(
    domain_id: int, interface: str | None, timeout_s: float = 5.0
) -> None:  # pragma: no cover - robot only
    """Release Unitree's built-in locomotion (MotionSwitcher) before low-level control.

    Goes through Unitree's SDK (``unitree-sdk2py``), whose channel factory makes the DDS
    domain: call this before :func:`init_factory`, which then joins that domain."""
    channel = require("unitree_sdk2py.core.channel", "dds", "MotionSwitcher")
    switcher = require(
        "unitree_sdk2py.comm.motion_switcher.motion_switcher_client", "dds", "MotionSwitcher"
    )
    if interface:
        channel.ChannelFactoryInitialize(int(domain_id), interface)
    else:
        channel.ChannelFactoryInitialize(int(domain_id))
    client = switcher.MotionSwitcherClient()
    client.SetTimeout(timeout_s)
    client.Init()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status, result = client.CheckMode()
        if status != 0 or not result or not result.get("name"):
            return
        client.ReleaseMode()
        time.sleep(0.5)
    raise HardwareError("the G1's built-in controller did not release within the timeout")
