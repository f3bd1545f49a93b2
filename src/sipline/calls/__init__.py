"""Click-to-call, an application of the SIP stack (``sip/``) and the media plane (``media/``).

``send_sip`` accepts a sendSip and starts the call; ``click_to_call`` places it (the B2BUA);
``journal`` keeps its record as it happens, written by ``writer``; ``dialogs`` keeps each leg's
dialog for a restart after a crash.
"""
