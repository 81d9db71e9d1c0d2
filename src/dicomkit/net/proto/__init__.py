"""Sans-IO DICOM networking: PDUs, the upper-layer state machine, negotiation (PS3.8, PS3.7).

Nothing here touches a socket, a thread or a clock; a test checks that no module in this
package imports ``socket``, ``asyncio``, ``threading``, ``selectors`` or ``time``.

Upper layer (this package's ``pdu``, ``items``, ``fsm``, ``upper_layer``, ``negotiation``,
``events``) -- see docs/contracts.md, section "net/proto (upper layer)".
"""
